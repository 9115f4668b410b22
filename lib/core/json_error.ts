/**
 * Where a JSON text goes wrong. V8's `JSON.parse` errors do not always say
 * (and quote a slice of the file, which may hold personal data), so callsync
 * finds the first offending character itself to report line and column.
 *
 * @module
 */

/** Position of the first JSON syntax error in a text. */
export interface JsonErrorPosition {
  offset: number;
  line: number;
  column: number;
  /** What was expected or found there, e.g. `unexpected "}"`. */
  problem: string;
}

class Stop extends Error {
  constructor(readonly at: number, readonly problem: string) {
    super(problem);
  }
}

/**
 * Locate the first syntax error in `text`, or `undefined` if it is valid JSON.
 *
 * @example
 * ```ts
 * findJsonError('{"a": 1,\n "b": }');
 * // { offset: 15, line: 2, column: 7, problem: 'unexpected "}"' }
 * ```
 */
export function findJsonError(text: string): JsonErrorPosition | undefined {
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\r\n".includes(text[i])) i++;
  };
  const fail = (what?: string): never => {
    throw new Stop(
      i,
      what ??
        (i >= text.length
          ? "unexpected end of file"
          : `unexpected ${JSON.stringify(text[i])}`),
    );
  };
  const expect = (ch: string) => {
    if (text[i] !== ch) fail();
    i++;
  };
  const string = () => {
    expect('"');
    while (i < text.length && text[i] !== '"') {
      if (text.charCodeAt(i) < 0x20) fail("control character in a string");
      if (text[i] === "\\") {
        i++;
        if (text[i] === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) {
            fail("bad \\u escape");
          }
          i += 4;
        } else if (!'"\\/bfnrt'.includes(text[i] ?? "")) fail("bad escape");
      }
      i++;
    }
    expect('"');
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      ws();
      if (text[i] === "}") return void i++;
      for (;;) {
        ws();
        string();
        ws();
        expect(":");
        value();
        ws();
        if (text[i] === ",") i++;
        else return expect("}");
      }
    }
    if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ",") i++;
        else return expect("]");
      }
    }
    if (c === '"') return string();
    const literal =
      /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(
        text.slice(i, i + 400),
      );
    if (!literal) fail();
    i += literal![0].length;
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
    return undefined;
  } catch (e) {
    if (!(e instanceof Stop)) return undefined; // nested too deep to scan

    const before = text.slice(0, e.at);
    return {
      offset: e.at,
      line: before.split("\n").length,
      column: e.at - before.lastIndexOf("\n"),
      problem: e.problem,
    };
  }
}
