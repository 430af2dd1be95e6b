/** Writing files so that a reader never sees a half-written file under the final name. */
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmdirSync, rmSync, statSync, type Stats } from 'node:fs';
import { open, rm, stat, type FileHandle } from 'node:fs/promises';
import { constants } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * Why a file could not be written at `path`, or undefined: a folder under its name, or a file
 * where one of its folders would be; with `foldersMustExist`, also a missing folder (writers
 * that do not create them). For refusing an output before the work that would fill it.
 */
export async function outputFileProblem(path: string, foldersMustExist = false): Promise<string | undefined> {
  if ((await stat(path).catch(() => undefined))?.isDirectory()) return 'is a folder; give a file name for the output';
  for (let folder = dirname(path); ; folder = dirname(folder)) {
    const found = await stat(folder).catch(() => undefined);
    if (found && !found.isDirectory()) return `${folder} is a file, not a folder`;
    if (!found && foldersMustExist) return `the folder ${folder} does not exist`;
    if (found || dirname(folder) === folder) return undefined;
  }
}

/**
 * The path's stat, undefined where nothing is: a missing path, or one below a file (ENOTDIR),
 * which Node 22 and later already give as undefined, and Node 20 throws.
 */
function statIfAny(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/**
 * The folders makeFolders made while a run notes them (`notingNewFolders`), each after its parent:
 * what the run's failure, or a signal (`removedOnSignal`), removes again where it is left empty.
 */
const newFolders: string[] = [];
let notingRuns = 0;

/**
 * Notes the folders makeFolders makes from now on (not those that were there), until the returned
 * function is called: with `failed`, those of them still empty are removed then, so that a failed
 * run (the command line's) leaves no empty output folder as if something had been written. A
 * folder that holds anything is kept, and so are the folders above it. For one run at a time
 * (or one inside another): the folders of runs side by side are not told apart.
 */
export function notingNewFolders(): (failed: boolean) => void {
  const start = newFolders.length;
  notingRuns += 1;
  return (failed) => {
    notingRuns -= 1;
    if (failed) removeEmptyFolders(newFolders.splice(start));
    // A run inside another that succeeded: its folders are the outer run's to remove should that one fail.
    else if (notingRuns === 0) newFolders.length = 0;
  };
}

/** Removes the folders that are empty, the last made first (a folder before its parent); the others, and any error, are left. */
function removeEmptyFolders(folders: readonly string[]): void {
  for (const folder of [...folders].reverse()) {
    try {
      // rmdir, never rm: a file written into the folder meanwhile keeps it.
      rmdirSync(folder);
    } catch {
      // Not empty, or already gone: kept as it is.
    }
  }
}

/**
 * Creates `folder` and its missing parents, one level at a time. Not mkdir's `recursive`: where
 * mkdir answers ENOENT below an existing folder (under /proc), Node's recursive mkdir retries
 * forever instead of failing. `keptOnFailure`: not noted (`notingNewFolders`), for a folder that
 * outlives a failed run (the weights cache, where the failure says to save a download by hand).
 */
export function makeFolders(folder: string, { keptOnFailure = false } = {}): void {
  const missing: string[] = [];
  let existing = resolve(folder);
  for (; !statIfAny(existing); existing = dirname(existing)) missing.push(existing);
  // A file in the way: mkdir's own error (EEXIST) names it.
  if (!statSync(existing).isDirectory()) mkdirSync(existing);
  for (const level of missing.reverse()) {
    try {
      mkdirSync(level);
      if (notingRuns > 0 && !keptOnFailure) newFolders.push(level);
    } catch (err) {
      // Another process may have made it meanwhile; anything else in its place is an error.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(level).isDirectory()) throw err;
    }
  }
}

/** The same path, or two names (links) of one existing file: an output that would replace an input. */
export async function sameFile(a: string, b: string): Promise<boolean> {
  if (resolve(a) === resolve(b)) return true;
  const [sa, sb] = await Promise.all([stat(a).catch(() => undefined), stat(b).catch(() => undefined)]);
  return sa !== undefined && sb !== undefined && sa.dev === sb.dev && sa.ino === sb.ino;
}

/**
 * A hidden name beside `path` for its file while being written: the process id and a random part,
 * so that writes to one path from several processes, or several at once in one, never share it.
 */
export function temporaryPathBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** The temporary files being written now, in this process: what `removedOnSignal` removes. */
const temporaryFiles = new Set<string>();

/** Notes `temp` as a temporary file being written, until the returned function is called (once it is renamed or removed). */
export function writingTemporary(temp: string): () => void {
  temporaryFiles.add(temp);
  return () => temporaryFiles.delete(temp);
}

/**
 * Until the returned function is called, a signal that would end the process (Ctrl-C, `kill`)
 * first removes every temporary file being written (AtomicFileWriter's, writeImage's) and the
 * new folders left empty (`notingNewFolders`), then calls `beforeEnding` (to say so), then ends
 * it as the signal would have (the shell reports 128 + its number: 130, 143).
 */
export function removedOnSignal(signals: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'], beforeEnding?: (signal: NodeJS.Signals) => void): () => void {
  const stop = () => signals.forEach((s) => process.off(s, onSignal));
  const onSignal = (signal: NodeJS.Signals) => {
    stop();
    // Synchronously: the process ends with this signal, before any promise could run.
    for (const temp of temporaryFiles) rmSync(temp, { force: true });
    removeEmptyFolders(newFolders);
    beforeEnding?.(signal);
    endBySignal(signal);
  };
  signals.forEach((s) => process.on(s, onSignal));
  return stop;
}

/**
 * Ends the process by `signal`, as the signal would have: a shell reports 128 + its number (130,
 * 143), and a shell running commands in a loop stops the loop, where a plain exit with 130 lets
 * bash go on to the next. A listener still there (signal-exit's, which re-sends the signal) is
 * called on the next turn of the event loop: a timer keeps the process until then; one that keeps
 * the process alive leaves the exit status of 128 + the number.
 */
export function endBySignal(signal: NodeJS.Signals): void {
  process.exitCode = 128 + constants.signals[signal];
  setTimeout(() => {}, 1000);
  process.kill(process.pid, signal);
}

/**
 * A file could not be written: the message names the file and the step that failed (e.g.
 * `results.json: writing failed: ENOSPC: no space left on device`); `code` is the system's
 * (ENOSPC, EACCES, ...), as on the original error, which is the `cause`.
 */
export class FileWriteError extends Error {
  override name = 'FileWriteError';
  readonly code: string | undefined;
  constructor(readonly path: string, step: string, cause: unknown) {
    super(`${path}: ${step}: ${systemReason(cause, path)}`, { cause });
    this.code = (cause as NodeJS.ErrnoException | undefined)?.code;
  }
}

/**
 * An error's reason without the system call and path Node appends (`ENOSPC: ..., write`,
 * `EISDIR: ..., rename '/x/.y.1.ab.tmp' -> '/x/y'`): the temporary name would mislead. Another
 * path (the file in the way of a folder) is kept.
 */
function systemReason(error: unknown, target: string): string {
  const { message, syscall, path } = error as NodeJS.ErrnoException;
  if (typeof message !== 'string') return String(error);
  const appended = syscall === undefined ? -1 : message.indexOf(`, ${syscall}`);
  if (appended === -1) return message;
  const ownName = path === undefined || path === target || (dirname(path) === dirname(target) && basename(path).startsWith(`.${basename(target)}.`));
  return ownName ? message.slice(0, appended) : `${message.slice(0, appended)} (${path})`;
}

/** Runs one step of writing `path`; its failure becomes a FileWriteError naming the file and the step. */
async function step<T>(path: string, what: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (err) {
    throw err instanceof FileWriteError ? err : new FileWriteError(path, what, err);
  }
}

/** How much text a writer gathers before writing it out: few system calls for many small records. */
const WRITE_BATCH_CHARS = 1 << 20;

/**
 * A file written piece by piece under a temporary name beside `path`, synced and renamed to
 * `path` by `commit`: a reader never sees it half-written, and output larger than one string can
 * hold (V8's ~512 MiB) is never in memory whole. An existing `path` that is no plain file (a
 * device such as /dev/stdout, a FIFO) is written straight into: a rename would replace it.
 * Failures are FileWriteErrors naming `path`.
 */
export class AtomicFileWriter {
  private pending: string[] = [];
  private pendingChars = 0;

  /**
   * `temp` undefined: the writes go straight to `path`. `written` ends the noting of `temp` as
   * being written (`writingTemporary`).
   */
  private constructor(readonly path: string, readonly temp: string | undefined, private readonly handle: FileHandle, private readonly written: () => void = () => {}) {}

  static async open(path: string): Promise<AtomicFileWriter> {
    return step(path, 'cannot create the file', async () => {
      const existing = await stat(path).catch(() => undefined);
      if (existing && !existing.isFile() && !existing.isDirectory()) return new AtomicFileWriter(path, undefined, await open(path, 'w'));
      makeFolders(dirname(path));
      const temp = temporaryPathBeside(path);
      // Noted before it exists: a signal as it is created removes it too.
      const written = writingTemporary(temp);
      try {
        // 'wx': a name already taken is an error, never a file of another writer truncated and shared.
        return new AtomicFileWriter(path, temp, await open(temp, 'wx'), written);
      } catch (err) {
        written();
        throw err;
      }
    });
  }

  async write(data: string | Uint8Array): Promise<void> {
    if (typeof data !== 'string') {
      await this.flush();
      await step(this.path, 'writing failed', () => this.handle.writeFile(data));
      return;
    }
    this.pending.push(data);
    this.pendingChars += data.length;
    if (this.pendingChars >= WRITE_BATCH_CHARS) await this.flush();
  }

  /**
   * Writes what is left, syncs, and renames the file into place; on failure, or when `signal` is
   * aborted before the rename, the temporary file is removed (then the signal's reason is thrown).
   */
  async commit(signal?: AbortSignal): Promise<void> {
    try {
      await this.finish();
      signal?.throwIfAborted();
      this.moveIntoPlace();
    } catch (err) {
      await this.discard();
      throw err;
    }
  }

  /** Writes what is left, syncs and closes the file, leaving it under its temporary name. */
  async finish(): Promise<void> {
    await this.flush();
    await step(this.path, 'writing failed', async () => {
      if (this.temp !== undefined) await this.handle.sync();
      await this.handle.close();
    });
  }

  /**
   * Renames the finished file to `path` (a device or FIFO written into: nothing to do). In one
   * step, without yielding: a signal handler (`removedOnSignal`) never runs between the rename and
   * the file's leaving the temporary files, so that it finds the file under one name or the other.
   */
  moveIntoPlace(): void {
    const temp = this.temp;
    if (temp === undefined) return;
    try {
      renameSync(temp, this.path);
    } catch (err) {
      throw new FileWriteError(this.path, 'cannot move the finished file into place', err);
    }
    this.written();
  }

  /** Abandons the file: nothing is left under either name. */
  async discard(): Promise<void> {
    this.pending = [];
    await this.handle.close().catch(() => {});
    if (this.temp !== undefined) await rm(this.temp, { force: true });
    this.written();
  }

  private async flush(): Promise<void> {
    if (this.pendingChars === 0) return;
    const text = this.pending.join('');
    this.pending = [];
    this.pendingChars = 0;
    await step(this.path, 'writing failed', () => this.handle.writeFile(text));
  }
}

/**
 * Writes `data` to a temporary file beside `path`, syncs it, then renames it over `path`. Pieces
 * (a generator of records' text) are written as they come, never joined into one string.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array | Iterable<string>): Promise<void> {
  const writer = await AtomicFileWriter.open(path);
  try {
    if (typeof data === 'string' || data instanceof Uint8Array) await writer.write(data);
    else for (const piece of data) await writer.write(piece);
  } catch (err) {
    await writer.discard();
    throw err;
  }
  await writer.commit();
}

/**
 * Writes several files as one set: each to a temporary name beside it and synced, then all
 * renamed into place. On a failure none of the set is left under its name: the temporary files
 * are removed, and so are those this call had already renamed (older files they replaced are
 * not restored); the error (a FileWriteError) is thrown.
 */
export async function writeFileSetAtomic(files: readonly { path: string; data: string | Uint8Array }[]): Promise<void> {
  const writers: AtomicFileWriter[] = [];
  let placed = 0;
  try {
    for (const { path, data } of files) {
      const writer = await AtomicFileWriter.open(path);
      writers.push(writer);
      await writer.write(data);
      await writer.finish();
    }
    // Renamed one after another without yielding: a signal (`removedOnSignal`) finds the set whole or none of it placed.
    for (const writer of writers) {
      writer.moveIntoPlace();
      placed += 1;
    }
  } catch (err) {
    // A placed file is removed only where it was renamed: a device written into stays.
    await Promise.all(writers.map((writer, i) => (i >= placed ? writer.discard() : writer.temp !== undefined ? rm(writer.path, { force: true }) : undefined)));
    throw err;
  }
}
