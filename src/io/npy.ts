/**
 * NumPy `.npy` (format 1.0/2.0) reading and writing for float32 and float16 arrays, the
 * formats of the reference fixtures and of `higher-pose heatmaps` output.
 */
import { readFileSync } from 'node:fs';

class NpyError extends Error {
  override name = 'NpyError';
}

export interface NpyArray {
  shape: number[];
  /** Values converted to float32 (float16 is widened exactly). */
  data: Float32Array;
  dtype: '<f4' | '<f2';
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

/** Exact float16 -> float32 conversion of one value given as its 16 bits. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function parseNpy(buf: Uint8Array, what = 'array'): NpyArray {
  const bytes = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (bytes.length < 10 || !bytes.subarray(0, 6).equals(MAGIC)) throw new NpyError(`${what} is not a .npy file`);
  const major = bytes[6];
  const headerLen = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = bytes.subarray(start, start + headerLen).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw new NpyError(`${what}: malformed .npy header`);
  if (fortran === 'True') throw new NpyError(`${what}: Fortran-order arrays are not supported`);
  if (descr !== '<f4' && descr !== '<f2') throw new NpyError(`${what}: dtype ${descr} is not supported (float32 or float16 only)`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const offset = start + headerLen;
  const itemSize = descr === '<f4' ? 4 : 2;
  if (bytes.length < offset + count * itemSize) throw new NpyError(`${what}: truncated .npy data`);
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    data[i] = itemSize === 4 ? bytes.readFloatLE(offset + 4 * i) : halfToFloat(bytes.readUInt16LE(offset + 2 * i));
  }
  return { shape, data, dtype: descr };
}

export function readNpy(path: string): NpyArray {
  return parseNpy(readFileSync(path), path);
}

/** Encodes a float32 array as .npy v1.0. */
export function encodeNpy(shape: readonly number[], data: Float32Array): Buffer {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header = header + ' '.repeat(pad % 64) + '\n';
  const head = Buffer.alloc(10);
  MAGIC.copy(head, 0);
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}
