/**
 * The I/O edge of each run: list the three folders once, and read only the
 * files that are not yet delivered. Every file that cannot be used becomes an
 * {@link InputProblem} naming it; nothing here throws for one bad file.
 *
 * @module
 */
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import type { RecordingKey } from "./match.ts";
import { parseRecordingName } from "./names.ts";
import { forEachLimited } from "./pool.ts";
import { OggFormatError, type OggInfo, readOggInfo } from "./ogg.ts";
import {
  InputError,
  type Lead,
  parseJsonObject,
  readLead,
  readTranscript,
  type Transcript,
} from "./transcript.ts";

/** Which of the three folders a file is in. */
export type Folder = "conversations" | "recordings" | "leads";

/** A file's identity and fingerprint (size and mtime). */
export interface FileInfo {
  name: string;
  path: string;
  size: number;
  mtimeMs: number;
}

/** A transcript file that parsed. */
export interface ConversationFile extends FileInfo, Transcript {}

/** A lead file that parsed. */
export interface LeadFile extends FileInfo, Lead {}

/** A recording file that reads as Ogg. */
export interface RecordingFile extends FileInfo {
  key: RecordingKey;
  callerDigits?: string;
  ogg: OggInfo;
}

/** A file callsync cannot use (yet). */
export interface InputProblem {
  folder: Folder;
  name: string;
  path: string;
  message: string;
  /** Epoch ms of the file's last change, if it could be read. */
  mtimeMs?: number;
  /**
   * True for problems that waiting cannot fix (permission denied, a symlink
   * out of bounds); false for ones a writer still at work can cause (bad
   * JSON, no Ogg header yet), which only count once the file is stale.
   */
  permanent: boolean;
}

/** Everything one scan found. */
export interface ScanResult {
  conversations: ConversationFile[];
  recordings: RecordingFile[];
  leads: LeadFile[];
  problems: InputProblem[];
  /** Folders that do not exist (callsync never creates them). */
  missing: { folder: Folder; path: string }[];
  /** Files skipped because they are already delivered. */
  skipped: number;
}

/** Where to look and what to skip. */
export interface ScanOptions {
  dirs: Record<Folder, string>;
  timezone: string;
  /** File names already delivered, per folder: listed but not read. */
  skip: Record<Folder, Set<string>>;
}

const PATTERN: Record<Folder, RegExp> = {
  conversations: /\.json$/i,
  recordings: /\.ogg$/i,
  leads: /\.json$/i,
};

const PARALLEL_READS = 16;

/** Scan the three folders. */
export async function scan(opts: ScanOptions): Promise<ScanResult> {
  const result: ScanResult = {
    conversations: [],
    recordings: [],
    leads: [],
    problems: [],
    missing: [],
    skipped: 0,
  };
  const roots = await realRoots(opts.dirs);
  for (const folder of ["conversations", "recordings", "leads"] as const) {
    const names = await list(folder, opts.dirs[folder], result);
    const own = { root: roots[folder], names: new Set(names) };
    const todo = names.filter((n) => !opts.skip[folder].has(n));
    result.skipped += names.length - todo.length;
    await forEachLimited(todo, PARALLEL_READS, async (name) => {
      const path = join(opts.dirs[folder], name);
      try {
        await readOne(
          folder,
          name,
          path,
          { roots, own },
          opts.timezone,
          result,
        );
      } catch (e) {
        result.problems.push(problemOf(folder, name, path, e));
      }
    });
  }
  return result;
}

async function list(folder: Folder, dir: string, result: ScanResult) {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.name.startsWith(".") && PATTERN[folder].test(e.name)) {
        names.push(e.name);
      }
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      result.missing.push({ folder, path: dir });
    } else {
      result.problems.push(problemOf(folder, ".", dir, e));
    }
  }
  return names.sort();
}

async function readOne(
  folder: Folder,
  name: string,
  path: string,
  links: LinkRules,
  timezone: string,
  result: ScanResult,
): Promise<void> {
  const link = await Deno.lstat(path);
  if (link.isSymlink) await checkLink(path, links);
  const st = await Deno.stat(path);
  if (!st.isFile) throw new InputError("is not a regular file");
  const info: FileInfo = {
    name,
    path,
    size: st.size,
    mtimeMs: st.mtime?.getTime() ?? 0,
  };
  try {
    if (folder === "recordings") {
      result.recordings.push(await readRecording(info));
    } else {
      const data = parseJsonObject(await Deno.readTextFile(path));
      if (folder === "conversations") {
        result.conversations.push({
          ...info,
          ...readTranscript(name, data, timezone),
        });
      } else {
        result.leads.push({ ...info, ...readLead(name, data, timezone) });
      }
    }
  } catch (e) {
    result.problems.push({
      ...problemOf(folder, name, path, e),
      mtimeMs: info.mtimeMs,
    });
  }
}

async function readRecording(info: FileInfo): Promise<RecordingFile> {
  const parsed = parseRecordingName(info.name);
  if (!parsed) {
    throw new InputError(
      "name does not end in -<unix seconds>.ogg, so its call start is unknown",
    );
  }
  const ogg = await readOggInfo(info.path);
  return {
    ...info,
    callerDigits: parsed.callerDigits,
    ogg,
    key: {
      name: info.name,
      startMs: parsed.startMs,
      durationSeconds: ogg.durationSeconds,
      complete: ogg.complete,
      phone: parsed.callerDigits,
    },
  };
}

/** Where symlinks may lead. */
interface LinkRules {
  /** Real paths of the configured folders. */
  roots: Record<Folder, string>;
  /** The folder being scanned: its real path and the names listed in it. */
  own: { root: string; names: Set<string> };
}

/**
 * Follow a symlink only if it resolves inside one of the configured folders,
 * and not to a file of the same folder (that one is sent under its own name;
 * following the link would send the call twice).
 */
async function checkLink(path: string, rules: LinkRules): Promise<void> {
  let target: string;
  try {
    target = await Deno.realPath(path);
  } catch {
    throw new InputError("is a symlink whose target does not exist", {
      permanent: true,
    });
  }
  const inside = Object.values(rules.roots).some((root) => {
    const rel = relative(root, target);
    return rel !== "" && !rel.startsWith("..") && !rel.startsWith(sep) &&
      resolve(root, rel) === target;
  });
  if (!inside) {
    throw new InputError(
      `is a symlink to ${target}, outside the configured folders; not followed`,
      { permanent: true },
    );
  }
  if (
    dirname(target) === rules.own.root && rules.own.names.has(basename(target))
  ) {
    throw new InputError(
      `is a symlink to ${
        basename(target)
      } in the same folder, which is sent under its own name; not sent twice`,
      { permanent: true },
    );
  }
}

async function realRoots(
  dirs: Record<Folder, string>,
): Promise<Record<Folder, string>> {
  const real = (d: string) => Deno.realPath(d).catch(() => resolve(d));
  return {
    conversations: await real(dirs.conversations),
    recordings: await real(dirs.recordings),
    leads: await real(dirs.leads),
  };
}

function problemOf(
  folder: Folder,
  name: string,
  path: string,
  e: unknown,
): InputProblem {
  const denied = e instanceof Deno.errors.PermissionDenied;
  const message = denied
    ? "permission denied: make it readable by the user callsync runs as"
    : e instanceof Error
    ? e.message
    : String(e);
  const permanent = denied ||
    (e instanceof InputError ? e.permanent : !(e instanceof OggFormatError));
  return { folder, name, path, message, permanent };
}
