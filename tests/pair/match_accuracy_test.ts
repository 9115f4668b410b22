import { ok } from "node:assert/strict";
import {
  type ConversationKey,
  matchRecordings,
  type RecordingKey,
} from "../../lib/pair/match.ts";
import { type BusyHost, generateBusyHost } from "../../testing/busy_host.ts";

const SEEDS = [1, 2, 3];
const CALLS = 3000;

/** The old rule: the first recording in directory order within 5 minutes. */
function oldRule(
  conversations: readonly ConversationKey[],
  recordings: readonly RecordingKey[],
): Map<string, string> {
  const pairs = new Map<string, string>();
  for (const c of conversations) {
    const r = recordings.find((r) =>
      Math.abs(r.startMs - c.startMs) <= 300_000
    );
    if (r) pairs.set(c.name, r.name);
  }
  return pairs;
}

function shareRight(host: BusyHost, pairs: Map<string, string>): number {
  let right = 0;
  for (const [conversation, recording] of pairs) {
    if (host.truth.get(conversation) === recording) right++;
  }
  return right / host.truth.size;
}

Deno.test("matchRecordings() pairs at least 99 % right on a busy host, the old rule under 10 %", () => {
  for (const seed of SEEDS) {
    const host = generateBusyHost({ seed, calls: CALLS });
    const ours = shareRight(
      host,
      new Map(
        matchRecordings(host.conversations, host.recordings, {
          windowSeconds: 300,
        }).map((m) => [m.conversation, m.recording]),
      ),
    );
    const old = shareRight(host, oldRule(host.conversations, host.recordings));
    const figures = `seed ${seed}: ours ${
      (100 * ours).toFixed(2)
    } %, old rule ${(100 * old).toFixed(2)} %`;
    ok(ours >= 0.99, figures);
    ok(old < 0.10, figures);
  }
});
