/**
 * Shared test fixtures: the ground truth of `fixtures/` (as
 * `fixtures/README.md` describes it) and temp folders that clean up after
 * themselves.
 *
 * @module
 */

/** One call of `fixtures/`, as the README's "Calls" table has it. */
export interface FixtureCall {
  /** The call's number (#) in `fixtures/README.md`. */
  n: 1 | 2 | 3 | 4 | 5 | 6;
  /** Set name: the transcript, or the recording of a recording-only call. */
  set: string;
  /** The transcript in `conversations/`, if the call has one. */
  conversation?: string;
  /** The recording in `recordings/` that belongs to the call, if any. */
  recording?: string;
  /** The lead in `leads/` that belongs to the call, if any. */
  lead?: string;
}

/** Every fixture call, oldest call first (the order of a serial run). */
export const FIXTURE_CALLS: readonly FixtureCall[] = [
  {
    n: 6,
    set: "transcript_session_2025-10-13T13-52-30.915207.json",
    conversation: "transcript_session_2025-10-13T13-52-30.915207.json",
    recording: "number-_919876501234-1760363470.ogg",
    lead: "lead_20251013_135233.json",
  },
  {
    n: 1,
    set: "transcript_session_2025-10-29T06-49-07.351452.json",
    conversation: "transcript_session_2025-10-29T06-49-07.351452.json",
    recording: "number-_918655066243-1761720502.ogg",
    lead: "leads_session_2025-10-29T06-49-07.351452.json",
  },
  {
    n: 2,
    set: "transcript_session_2025-10-29T07-23-04.887540.json",
    conversation: "transcript_session_2025-10-29T07-23-04.887540.json",
    recording: "number-_919167234510-1761722530.ogg",
    lead: "leads_session_2025-10-29T07-23-04.887540.json",
  },
  {
    n: 3,
    set: "transcript_session_2025-10-29T07-23-03.616272.json",
    conversation: "transcript_session_2025-10-29T07-23-03.616272.json",
    recording: "number-_917045118823-1761722558.ogg",
  },
  {
    n: 4,
    set: "transcript_session_2025-10-29T09-11-02.480913.json",
    conversation: "transcript_session_2025-10-29T09-11-02.480913.json",
  },
  {
    n: 5,
    set: "number-_919820012345-1761732314.ogg",
    recording: "number-_919820012345-1761732314.ogg",
  },
];

/** The set names of {@link FIXTURE_CALLS}, oldest call first. */
export const FIXTURE_SETS: readonly string[] = FIXTURE_CALLS.map((c) => c.set);

/** Fixture call number `n` of `fixtures/README.md`. */
export function fixtureCall(n: FixtureCall["n"]): FixtureCall {
  const call = FIXTURE_CALLS.find((c) => c.n === n);
  if (!call) throw new Error(`no fixture call ${n}`);
  return call;
}

/** A temp folder, removed (with all it holds) on dispose. */
export interface TempDir extends AsyncDisposable {
  path: string;
}

/** Make a temp folder named with `prefix`; `await using` removes it. */
export async function tempDir(prefix = "callsync-test-"): Promise<TempDir> {
  const path = await Deno.makeTempDir({ prefix });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}

/** Run `fn` with a fresh temp folder named with `prefix`, removed afterwards. */
export async function withTempDir<T>(
  prefix: string,
  fn: (dir: string) => Promise<T>,
): Promise<T> {
  await using dir = await tempDir(prefix);
  return await fn(dir.path);
}

/**
 * Run `fn` with the process umask set to `umask` (child processes started
 * meanwhile inherit it), then restore it.
 */
export async function underUmask<T>(
  umask: number,
  fn: () => Promise<T>,
): Promise<T> {
  const before = Deno.umask(umask);
  try {
    return await fn();
  } finally {
    Deno.umask(before);
  }
}
