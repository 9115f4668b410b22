/**
 * The I/O edge of each run: list the three folders once, and read only the
 * files that are not yet delivered. Every file that cannot be used becomes an
 * {@link InputProblem} naming it; nothing here throws for one bad file.
 *
 * @module
 */
import * as nodePath from "node:path";
import { basename, dirname, join, resolve } from "node:path";
import {
  type ConversationFile,
  FileChangedError,
  type Folder,
  type LeadFile,
  openSource,
  readSourceFile,
  type RecordingFile,
  type SourceFile,
} from "./files.ts";
import { type ListingCache, stampOf } from "./listing_cache.ts";
import { RecordingFormatError } from "./format_error.ts";
import { InputError } from "./transcript.ts";
import { Breather } from "../core/breather.ts";
import { type FileIdentity, NotRegularFileError } from "../core/safe_fs.ts";

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
  /** Another file or a link took its place while it was being read. */
  replaced?: boolean;
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

/**
 * Names to skip: a `Set`, or anything else that answers `has` (a `Map` of
 * delivered sets, say), so a caller need not copy 100,000 names into a set.
 */
export interface NameFilter {
  has(name: string): boolean;
}

/** Where to look and what to skip. */
export interface ScanOptions {
  dirs: Record<Folder, string>;
  timezone: string;
  /** File names already delivered, per folder: listed but not read. */
  skip: Record<Folder, NameFilter>;
  /**
   * Listings to reuse where a folder has not changed, and to remember where
   * it was listed anew. Only valid while the `skip` filters only ever grow.
   */
  cache?: ListingCache;
}

/**
 * Which names each folder lists. Every file in recordings/ is listed: one
 * callsync does not understand is reported, never silently skipped.
 */
const PATTERN: Record<Folder, RegExp> = {
  conversations: /\.json$/i,
  recordings: /./,
  leads: /\.json$/i,
};

/** Scan the three folders. */
export async function scan(opts: ScanOptions): Promise<ScanResult> {
  const result = emptyResult();
  const roots = await realRoots(opts.dirs);
  // The three listings overlap: each entry of an async listing waits on a
  // blocking-pool thread, so listing folders side by side hides that wait.
  const listed = await Promise.all(
    FOLDERS.map((folder) =>
      list(folder, opts.dirs[folder], opts.skip[folder], opts.cache)
    ),
  );
  for (const [k, folder] of FOLDERS.entries()) {
    const { names, todo, error } = listed[k];
    if (error) noteListError(folder, opts.dirs[folder], error, result);
    result.skipped += names - todo.length;
    // Only the files to read are sorted (delivered ones are merely counted).
    todo.sort();
    await readNames(opts, roots, folder, todo, result);
  }
  return result;
}

/** What {@link scanNames} read, and which of the names no longer exist. */
export interface NamedScan {
  result: ScanResult;
  gone: { folder: Folder; name: string }[];
}

/**
 * Read only the named files (those a file event named), skipping delivered
 * ones as {@link scan} does: the work is proportional to the names, not to
 * the folders. Names that match no folder pattern are ignored; a name whose
 * file is gone is reported in `gone`.
 */
export async function scanNames(
  opts: Omit<ScanOptions, "cache">,
  names: Record<Folder, Iterable<string>>,
): Promise<NamedScan> {
  const result = emptyResult();
  const gone: NamedScan["gone"] = [];
  const roots = await realRoots(opts.dirs);
  for (const folder of FOLDERS) {
    const todo = [...names[folder]].filter((name) =>
      isListed(folder, name) && !opts.skip[folder].has(name)
    );
    await readNames(
      opts,
      roots,
      folder,
      todo,
      result,
      (name) => gone.push({ folder, name }),
    );
  }
  return { result, gone };
}

/** True when `name` is one a folder listing keeps (pattern, not hidden). */
export function isListed(folder: Folder, name: string): boolean {
  return name.charCodeAt(0) !== 0x2e && PATTERN[folder].test(name);
}

function emptyResult(): ScanResult {
  return {
    conversations: [],
    recordings: [],
    leads: [],
    problems: [],
    missing: [],
    skipped: 0,
  };
}

/** Read `todo` of `folder` into `result`; `onGone` hears of vanished files. */
async function readNames(
  opts: Pick<ScanOptions, "dirs" | "timezone">,
  roots: Record<Folder, string>,
  folder: Folder,
  todo: readonly string[],
  result: ScanResult,
  onGone?: (name: string) => void,
): Promise<void> {
  const own = {
    root: roots[folder],
    dir: opts.dirs[folder],
    pattern: PATTERN[folder],
  };
  // One at a time: the file calls are made on this thread (see safe_fs.ts).
  const breather = new Breather();
  for (const name of todo) {
    await breather.breathe();
    const path = join(opts.dirs[folder], name);
    try {
      await readOne(folder, name, path, { roots, own }, opts.timezone, result);
    } catch (e) {
      if (onGone && e instanceof Deno.errors.NotFound) onGone(name);
      else result.problems.push(problemOf(folder, name, path, e));
    }
  }
}

/** The three folders, in the order they are read. */
export const FOLDERS = ["conversations", "recordings", "leads"] as const;

/** One folder's listing: how many names match, and those not skipped. */
interface Listing {
  names: number;
  todo: string[];
  error?: unknown;
}

/**
 * List a folder, keeping only the names to read. Delivered names are only
 * counted, so an idle run over 100,000 delivered sets keeps no array of them;
 * a folder unchanged since the listing in `cache` is not listed at all.
 */
async function list(
  folder: Folder,
  dir: string,
  skip: NameFilter,
  cache?: ListingCache,
): Promise<Listing> {
  const out: Listing = { names: 0, todo: [] };
  try {
    // The clock is read before the folder's times, and both before the
    // listing: see listing_cache.ts for why that order is safe.
    const startedAt = Date.now();
    const stamp = cache && stampOf(await Deno.stat(dir));
    const cached = stamp && cache?.reusable(dir, stamp, startedAt);
    if (cached) {
      out.names = cached.names;
      out.todo = cached.todo.filter((name) => !skip.has(name));
      return out;
    }
    for await (const e of Deno.readDir(dir)) {
      const name = e.name;
      if (!isListed(folder, name)) continue;
      out.names++;
      if (!skip.has(name)) out.todo.push(name);
    }
    if (stamp) {
      cache?.remember(dir, {
        ...stamp,
        listedAt: startedAt,
        names: out.names,
        todo: [...out.todo],
      });
    }
  } catch (e) {
    out.error = e;
  }
  return out;
}

function noteListError(
  folder: Folder,
  dir: string,
  e: unknown,
  result: ScanResult,
): void {
  if (e instanceof Deno.errors.NotFound) {
    result.missing.push({ folder, path: dir });
  } else {
    result.problems.push(problemOf(folder, ".", dir, e));
  }
}

/**
 * Check one listed file (a link must lead where {@link checkLink} allows),
 * then open it once and read it only through that handle: a file swapped
 * between the check and the open is refused, and looked at again next run.
 */
async function readOne(
  folder: Folder,
  name: string,
  path: string,
  links: LinkRules,
  timezone: string,
  result: ScanResult,
): Promise<void> {
  const checked = await checkedFile(path, links);
  let file: SourceFile;
  try {
    file = await openSource(path, checked);
  } catch (e) {
    if (!(e instanceof FileChangedError || e instanceof NotRegularFileError)) {
      throw e;
    }
    throw new FileChangedError(
      "was replaced (by another file or a link) while being read; not read, looked at again next run",
      { replaced: true },
    );
  }
  await using open = file;
  try {
    if (folder === "conversations") {
      result.conversations.push(await readSourceFile(folder, open, timezone));
    } else if (folder === "recordings") {
      result.recordings.push(await readSourceFile(folder, open, timezone));
    } else {
      result.leads.push(await readSourceFile("leads", open, timezone));
    }
  } catch (e) {
    result.problems.push({
      ...problemOf(folder, name, path, e),
      mtimeMs: open.info.mtimeMs,
    });
  }
}

/**
 * What the file listed at `path` is, checked by its path: a regular file,
 * or a link to one inside the configured folders (read through its target).
 */
async function checkedFile(
  path: string,
  links: LinkRules,
): Promise<FileIdentity & { target?: string }> {
  const link = Deno.lstatSync(path);
  const target = link.isSymlink ? await checkLink(path, links) : undefined;
  const st = target ? Deno.lstatSync(target) : link;
  if (!st.isFile) throw new InputError("is not a regular file");
  return { dev: st.dev, ino: st.ino, ...(target ? { target } : {}) };
}

/** Where symlinks may lead. */
interface LinkRules {
  /** Real paths of the configured folders. */
  roots: Record<Folder, string>;
  /**
   * The folder being scanned: its real path, its configured path and which
   * names it lists (a symlink is rare, so whether its target is listed is
   * asked of the file system instead of a set of every name).
   */
  own: { root: string; dir: string; pattern: RegExp };
}

/**
 * Follow a symlink only if it resolves inside one of the configured folders,
 * and not to a file of the same folder (that one is sent under its own name;
 * following the link would send the call twice). Resolves to its target.
 */
async function checkLink(path: string, rules: LinkRules): Promise<string> {
  let target: string;
  try {
    target = await Deno.realPath(path);
  } catch {
    throw new InputError("is a symlink whose target does not exist", {
      permanent: true,
    });
  }
  const inside = Object.values(rules.roots).some((root) =>
    isInside(root, target)
  );
  if (!inside) {
    throw new InputError(
      `is a symlink to ${target}, outside the configured folders; not followed`,
      { permanent: true },
    );
  }
  if (
    dirname(target) === rules.own.root &&
    await listedIn(rules.own.dir, basename(target), rules.own.pattern)
  ) {
    throw new InputError(
      `is a symlink to ${
        basename(target)
      } in the same folder, which is sent under its own name; not sent twice`,
      { permanent: true },
    );
  }
  return target;
}

/** The path functions {@link isInside} uses: `node:path`, or one OS's. */
export type PathApi = Pick<
  typeof nodePath,
  "relative" | "resolve" | "isAbsolute"
>;

/**
 * True when `target` lies inside the folder `root` (both absolute and real,
 * as `Deno.realPath` gives them). Across Windows drives `relative` answers
 * with the target's own absolute path, which is outside.
 *
 * @example
 * ```ts
 * import { win32 } from "node:path";
 * isInside("C:\\bot\\leads", "C:\\bot\\leads\\a.json", win32); // true
 * isInside("C:\\bot\\leads", "D:\\bot\\leads\\a.json", win32); // false
 * ```
 */
export function isInside(
  root: string,
  target: string,
  paths: PathApi = nodePath,
): boolean {
  const rel = paths.relative(root, target);
  return rel !== "" && !rel.startsWith("..") && !paths.isAbsolute(rel) &&
    paths.resolve(root, rel) === target;
}

/** Whether the folder's listing shows `name` (a regular, matching name). */
async function listedIn(
  dir: string,
  name: string,
  pattern: RegExp,
): Promise<boolean> {
  if (name.startsWith(".") || !pattern.test(name)) return false;
  try {
    await Deno.lstat(join(dir, name));
    return true;
  } catch {
    return false;
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
    (e instanceof InputError
      ? e.permanent
      : !(e instanceof RecordingFormatError || e instanceof FileChangedError));
  const replaced = e instanceof FileChangedError && e.replaced;
  return {
    folder,
    name,
    path,
    message,
    permanent,
    ...(replaced ? { replaced } : {}),
  };
}
