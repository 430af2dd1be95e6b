/** Writing files so that a reader never sees a half-written file under the final name. */
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

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

/** Writes `data` to a temporary file beside `path`, syncs it, then renames it over `path`. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
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
