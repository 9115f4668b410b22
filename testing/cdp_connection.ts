/**
 * The Chrome DevTools protocol over a WebSocket (commands, answers, events
 * per session), and the deadline helpers every browser step is bound by.
 *
 * @module
 */

/** `promise`, or a failure naming `what` at the deadline. */
export async function within<T>(
  deadline: number,
  what: string,
  promise: Promise<T>,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`timed out waiting for ${what}`)),
          Math.max(0, deadline - Date.now()),
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Poll `probe` until `done` holds, or fail at the deadline. */
export async function waitFor<T>(
  deadline: number,
  what: string,
  probe: () => Promise<T>,
  done: (value: T) => boolean,
): Promise<T> {
  let last: T | undefined;
  while (Date.now() < deadline) {
    try {
      last = await probe();
      if (done(last)) return last;
    } catch {
      // the page is navigating; try again
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; last saw ${String(last)}`);
}

/** True if `promise` settles within `ms` (its timer is always cleared). */
export function settlesWithin(
  promise: Promise<unknown>,
  ms: number,
): Promise<boolean> {
  const settled = promise.then(() => true, () => true);
  return within(Date.now() + ms, "", settled).catch(() => false);
}

/** A handler of one DevTools event. */
export type Listener = (params: unknown) => void;

/** A Chrome DevTools protocol connection to the browser. */
export class Cdp {
  #ws: WebSocket;
  #seq = 0;
  #pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();
  #listeners = new Map<string, Set<Listener>>();
  #closed: Promise<void>;
  /** When everything waited for through this connection fails. */
  readonly deadline: number;

  private constructor(ws: WebSocket, deadline: number) {
    this.#ws = ws;
    this.deadline = deadline;
    this.#closed = new Promise((r) => ws.addEventListener("close", () => r()));
    ws.addEventListener("message", (ev) => this.#onMessage(String(ev.data)));
    ws.addEventListener("close", () => {
      for (const p of this.#pending.values()) {
        p.reject(new Error("DevTools connection closed"));
      }
      this.#pending.clear();
    });
  }

  static async connect(url: string, deadline: number): Promise<Cdp> {
    const ws = new WebSocket(url);
    const open = new Promise<void>((resolve, reject) => {
      ws.addEventListener("open", () => resolve(), { once: true });
      ws.addEventListener(
        "error",
        () => reject(new Error(`cannot connect to ${url}`)),
        { once: true },
      );
    });
    try {
      await within(deadline, "the DevTools connection", open);
    } catch (e) {
      ws.close();
      throw e;
    }
    return new Cdp(ws, deadline);
  }

  #onMessage(text: string) {
    const msg = JSON.parse(text) as {
      id?: number;
      result?: unknown;
      error?: { message: string };
      method?: string;
      params?: unknown;
      sessionId?: string;
    };
    if (msg.id !== undefined) {
      const p = this.#pending.get(msg.id);
      this.#pending.delete(msg.id);
      if (msg.error) p?.reject(new Error(msg.error.message));
      else p?.resolve(msg.result);
      return;
    }
    const key = `${msg.sessionId ?? ""}|${msg.method}`;
    for (const l of this.#listeners.get(key) ?? []) l(msg.params);
  }

  send<T = unknown>(
    method: string,
    params: Record<string, unknown> = {},
    sessionId?: string,
  ): Promise<T> {
    const id = ++this.#seq;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, {
        resolve: resolve as (v: unknown) => void,
        reject,
      });
      this.#ws.send(JSON.stringify({ id, method, params, sessionId }));
    });
  }

  on(event: string, sessionId: string, fn: Listener): () => void {
    const key = `${sessionId}|${event}`;
    const set = this.#listeners.get(key) ?? new Set();
    set.add(fn);
    this.#listeners.set(key, set);
    return () => set.delete(fn);
  }

  /** Ask the browser to quit, then close the connection. */
  async close(): Promise<void> {
    if (this.#ws.readyState === WebSocket.OPEN) {
      await settlesWithin(this.send("Browser.close"), 1000);
    }
    if (this.#ws.readyState !== WebSocket.CLOSED) {
      this.#ws.close();
      await this.#closed;
    }
  }
}
