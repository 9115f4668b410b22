/**
 * One way through: the module graph `deno info --json main.ts` reports must
 * follow the stages' order, lowest first —
 *
 *   core < config < state < source < pair < deliver < report < dashboard < cli < main.ts
 *
 * A module may import its own stage or a lower one, never a higher one; no
 * module may be part of an import cycle; every module under lib/ lies in a
 * stage folder and is reached from main.ts (none is dead).
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { ROOT } from "../testing/cli.ts";

/** The stages, lowest first. */
const STAGES = [
  "core",
  "config",
  "state",
  "source",
  "pair",
  "deliver",
  "report",
  "dashboard",
  "cli",
] as const;

/** Module → the modules it imports (code or types), paths from the root. */
type Graph = Map<string, string[]>;

/** The rank of a module: its stage's place, main.ts above them all. */
function rank(path: string): number | undefined {
  if (path === "main.ts") return STAGES.length;
  const m = /^lib\/([^/]+)\//.exec(path);
  const i = m ? STAGES.indexOf(m[1] as typeof STAGES[number]) : -1;
  return i < 0 ? undefined : i;
}

/** Every import that goes up a stage, and every module outside a stage. */
export function layeringProblems(graph: Graph): string[] {
  const problems: string[] = [];
  for (const [from, deps] of graph) {
    const own = rank(from);
    if (own === undefined) {
      problems.push(`${from} is in no stage folder (${STAGES.join(", ")})`);
      continue;
    }
    for (const to of deps) {
      const theirs = rank(to);
      if (theirs !== undefined && theirs > own) {
        problems.push(
          `${from} (${stageName(own)}) imports ${to} (${stageName(theirs)})`,
        );
      }
    }
  }
  return problems;
}

function stageName(r: number): string {
  return STAGES[r] ?? "main.ts";
}

/** The import cycles of `graph`, each as its modules in order. */
export function cycles(graph: Graph): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, "open");
    stack.push(node);
    for (const dep of graph.get(node) ?? []) {
      if (state.get(dep) === "open") {
        found.push([...stack.slice(stack.indexOf(dep)), dep]);
      } else if (!state.has(dep)) visit(dep);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of [...graph.keys()].sort()) {
    if (!state.has(node)) visit(node);
  }
  return found;
}

/** The graph of our own TypeScript modules reached from main.ts. */
async function moduleGraph(): Promise<Graph> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "main.ts"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: {
      specifier: string;
      dependencies?: {
        code?: { specifier: string };
        type?: { specifier: string };
      }[];
    }[];
  };
  const own = (url: string | undefined) =>
    url?.startsWith("file:") && url.endsWith(".ts")
      ? relative(ROOT, fileURLToPath(url)).replaceAll("\\", "/")
      : undefined;
  const graph: Graph = new Map();
  for (const m of info.modules) {
    const from = own(m.specifier);
    if (!from) continue;
    const deps = (m.dependencies ?? []).flatMap((d) =>
      [own(d.code?.specifier), own(d.type?.specifier)].filter((p) =>
        p !== undefined
      )
    );
    graph.set(from, [...new Set(deps)]);
  }
  return graph;
}

/** Every .ts file under lib/. */
async function libModules(dir = join(ROOT, "lib")): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory) out.push(...await libModules(path));
    else if (e.name.endsWith(".ts")) {
      out.push(relative(ROOT, path).replaceAll("\\", "/"));
    }
  }
  return out;
}

Deno.test("no module imports a stage above its own", async () => {
  const graph = await moduleGraph();
  assert.ok(graph.size > 50, `only ${graph.size} modules found`);
  assert.deepEqual(layeringProblems(graph), []);
});

Deno.test("no import cycle among callsync's modules", async () => {
  assert.deepEqual(cycles(await moduleGraph()), []);
});

Deno.test("every module under lib/ is reached from main.ts", async () => {
  const graph = await moduleGraph();
  const dead = (await libModules()).filter((m) => !graph.has(m)).sort();
  assert.deepEqual(dead, []);
});

Deno.test("layeringProblems() and cycles() find an upward import and a cycle", () => {
  const graph: Graph = new Map([
    ["main.ts", ["lib/cli/mod.ts"]],
    ["lib/cli/mod.ts", ["lib/core/log.ts"]],
    ["lib/source/scan.ts", ["lib/pair/match.ts"]],
    ["lib/pair/match.ts", ["lib/pair/keys.ts"]],
    ["lib/pair/keys.ts", ["lib/pair/match.ts"]],
    ["lib/loose.ts", []],
  ]);
  assert.deepEqual(layeringProblems(graph), [
    "lib/source/scan.ts (source) imports lib/pair/match.ts (pair)",
    "lib/loose.ts is in no stage folder (core, config, state, source, pair, deliver, report, dashboard, cli)",
  ]);
  assert.deepEqual(cycles(graph), [
    ["lib/pair/keys.ts", "lib/pair/match.ts", "lib/pair/keys.ts"],
  ]);
});
