/** Writing files so that a reader never sees a half-written file under the final name. */
import { mkdirSync, statSync } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

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
 * Creates `folder` and its missing parents, one level at a time. Not mkdir's `recursive`: where
 * mkdir answers ENOENT below an existing folder (under /proc), Node's recursive mkdir retries
 * forever instead of failing.
 */
export function makeFolders(folder: string): void {
  const missing: string[] = [];
  let existing = resolve(folder);
  for (; !statSync(existing, { throwIfNoEntry: false }); existing = dirname(existing)) missing.push(existing);
  // A file in the way: mkdir's own error (EEXIST) names it.
  if (!statSync(existing).isDirectory()) mkdirSync(existing);
  for (const level of missing.reverse()) {
    try {
      mkdirSync(level);
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

/** Writes `data` to a temporary file beside `path`, syncs it, then renames it over `path`. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  makeFolders(dirname(path));
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
