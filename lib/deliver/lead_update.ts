/**
 * The call record of a lead update: the record of a call already delivered,
 * rebuilt from its transcript (where it is now: still in the bot's folder,
 * or archived) and its delivery record, with the lead that came late.
 *
 * @module
 */
import { join } from "node:path";
import type { Config } from "../config/config.ts";
import type { CallSet } from "../pair/plan.ts";
import {
  type ConversationFile,
  openSource,
  readSourceFile,
} from "../source/files.ts";
import { parseRecordingName } from "../source/names.ts";
import { InputError, type JsonObject } from "../source/transcript.ts";
import type { StateStore } from "../state/store.ts";
import { archivedPath } from "./archive.ts";
import { buildCallRecord } from "./payload.ts";

/**
 * The record to send for `set` (kind `lead-update`): the delivered call's
 * transcript and recording URL, its callId, and the lead. Throws an
 * {@link InputError} naming the file when the transcript cannot be found.
 */
export async function leadUpdateRecord(
  cfg: Config,
  store: StateStore,
  set: CallSet,
): Promise<JsonObject> {
  const of = set.updateOf!;
  const delivered = await store.readRecord(of.set);
  const conversation = await findTranscript(cfg, of.set, of.callId);
  const recording = delivered?.recording_url
    ? {
      url: delivered.recording_url,
      size: delivered.recording_size ?? 0,
      durationSeconds: delivered.recording_duration,
    }
    : undefined;
  const record = buildCallRecord(
    {
      name: of.set,
      startMs: conversation.key.startMs,
      conversation,
      lead: set.lead,
      callerDigits: delivered?.recording_file
        ? parseRecordingName(delivered.recording_file)?.callerDigits
        : undefined,
    },
    recording,
    cfg,
  );
  // The update names the call as it was delivered.
  (record.callDetails as JsonObject).callId = of.callId;
  return record;
}

/** The delivered call's transcript, in the bot's folder or the archive. */
async function findTranscript(
  cfg: Config,
  name: string,
  callId: string,
): Promise<ConversationFile> {
  const places = [
    join(cfg.conversationsDir, name),
    archivedPath(cfg, callId, name),
  ].filter((p) => p !== undefined);
  for (const path of places) {
    // Only a regular file, never through a link (as the scan reads).
    const file = await openSource(path).catch(() => undefined);
    if (!file) continue;
    await using opened = file;
    return await readSourceFile("conversations", opened, cfg.timezone);
  }
  throw new InputError(
    `cannot rebuild the call record of ${callId}: its transcript ${name} is in neither ${
      places.join(" nor ")
    }`,
  );
}
