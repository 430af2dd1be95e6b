/** Reading a file the user named, which may be a pipe, without reading forever. */
import { closeSync, fstatSync, openSync, readFileSync, readSync, type Stats } from 'node:fs';

/** A path that gives no file of the kind asked for: a device, or more bytes than any such file has. */
export class ReadBoundError extends Error {
  override name = 'ReadBoundError';

  /** `start`: the file's first bytes (up to 64), which tell what a file too large is. */
  constructor(readonly reason: 'device' | 'size', message: string, readonly start: Uint8Array = new Uint8Array()) {
    super(message);
  }
}

/** Bytes in words: whole MiB or GiB where they are, else bytes. */
export const sizeText = (bytes: number): string => (bytes % 2 ** 30 === 0 ? `${bytes / 2 ** 30} GiB` : bytes % 2 ** 20 === 0 ? `${bytes / 2 ** 20} MiB` : `${bytes} bytes`);

/**
 * A ReadBoundError for a character or block device, which a reader of files must not read:
 * `/dev/zero`, `/dev/urandom` never end; a terminal waits for typing. `stats`: of the open file.
 */
export function refuseDevice(stats: Stats): void {
  if (stats.isCharacterDevice() || stats.isBlockDevice()) {
    throw new ReadBoundError('device', `is a ${stats.isCharacterDevice() ? 'character' : 'block'} device (such as /dev/zero or a terminal), not a file or a pipe`);
  }
}

/** The names by which a process opens its own stdin. */
const STDIN_PATHS = new Set(['/dev/stdin', '/dev/fd/0', '/proc/self/fd/0']);

/**
 * A descriptor to read the file at `path` from, and its closing. Stdin by one of its names is read
 * from descriptor 0, not closed, where Linux cannot open it by name: a socket, as a Node parent's
 * `stdio: 'pipe'` gives (ENXIO, "no such device or address").
 */
export function openToRead(path: string): { fd: number; close: () => void } {
  try {
    const fd = openSync(path, 'r');
    return { fd, close: () => closeSync(fd) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENXIO' && STDIN_PATHS.has(path)) return { fd: 0, close: () => {} };
    throw err;
  }
}

/** Waited on for a few milliseconds at a time, never woken. */
const idle = new Int32Array(new SharedArrayBuffer(4));

/**
 * `readSync` from the current position that waits out EAGAIN: a descriptor in non-blocking mode
 * (stdin a socket or pipe that Node, or the process before it, opened as a stream) has nothing yet,
 * not nothing more.
 */
export function readWaiting(fd: number, buffer: Uint8Array, offset: number, length: number): number {
  for (;;) {
    try {
      return readSync(fd, buffer, offset, length, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      Atomics.wait(idle, 0, 0, 5);
    }
  }
}

/**
 * The bytes of the file at `path`, read once, so that a pipe (`<(...)`, `/dev/stdin`) is read
 * too; a ReadBoundError for a character or block device (`/dev/zero`, `/dev/urandom` never end; a
 * terminal waits for typing) and for more than `maxBytes`, which a pipe is read up to, not to
 * its end (a regular file is read whole at once). Other failures (missing, a folder) are the system's errors.
 * `spare`: bytes left free after the content in its buffer, for a reader that moves it there.
 */
export function readFileUpTo(path: string, maxBytes: number, spare = 0): Buffer {
  const { fd, close } = openToRead(path);
  try {
    const stats = fstatSync(fd);
    refuseDevice(stats);
    if (stats.size > maxBytes) {
      const start = Buffer.alloc(64);
      throw new ReadBoundError('size', `is ${stats.size} bytes, more than ${sizeText(maxBytes)}`, start.subarray(0, readSync(fd, start)));
    }
    // Its size known: one buffer, where chunks and their join would hold it twice. A size of 0
    // is not known (procfs and some FUSE files report it and hold data): read as a pipe is.
    if (stats.isFile() && stats.size > 0) return spare === 0 ? readFileSync(fd) : readWithSpare(fd, stats.size, spare);
    const chunks: Buffer[] = [];
    // Reused: a pipe gives 64 KiB a read, which kept as views would each hold the whole chunk.
    const chunk = Buffer.allocUnsafe(1 << 20);
    let total = 0;
    for (;;) {
      const length = readWaiting(fd, chunk, 0, Math.min(chunk.length, maxBytes + 1 - total));
      // Joined into total + spare bytes, the rest zero-filled.
      if (length === 0) return Buffer.concat(chunks, total + spare).subarray(0, total);
      chunks.push(Buffer.from(chunk.subarray(0, length)));
      total += length;
      // Only the first bytes are joined: all of them would copy up to `maxBytes` again.
      if (total > maxBytes) throw new ReadBoundError('size', `gives more than ${sizeText(maxBytes)}`, Buffer.concat(chunks, Math.min(total, 64)));
    }
  } finally {
    close();
  }
}

/** A regular file's `size` bytes, at the start of a buffer `spare` bytes longer. */
function readWithSpare(fd: number, size: number, spare: number): Buffer {
  const buffer = Buffer.allocUnsafe(size + spare);
  let length = 0;
  while (length < size) {
    // At most 1 GiB a read: a read's length is an int32 in Node's binding.
    const read = readSync(fd, buffer, length, Math.min(size - length, 2 ** 30), null);
    if (read === 0) break; // cut short since its size was taken: its reader says so
    length += read;
  }
  return buffer.subarray(0, length);
}
