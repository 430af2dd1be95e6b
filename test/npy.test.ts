import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeNpy, readNpy } from '../src/io/npy.js';

describe('encodeNpy', () => {
  let root: string;
  beforeEach(() => { root = mkdtempSync(join(tmpdir(), 'higher-pose-npy-')); });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('gives the NPY 1.0 format: magic, header padded to 64 bytes with a newline, little-endian float32, C order, the shape', () => {
    const data = Float32Array.from({ length: 2 * 3 * 5 }, (_, i) => i - 0.5);
    const bytes = encodeNpy([2, 3, 5], data);
    expect([...bytes.subarray(0, 8)]).to.deep.equal([0x93, ...Buffer.from('NUMPY'), 1, 0]);
    const headerLength = bytes.readUInt16LE(8);
    expect((10 + headerLength) % 64).to.equal(0);
    const header = bytes.toString('latin1', 10, 10 + headerLength);
    expect(header.endsWith('\n')).to.equal(true);
    expect(header.trimEnd()).to.equal("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 5), }");
    expect(bytes.length).to.equal(10 + headerLength + 4 * data.length);
    expect(bytes.readFloatLE(10 + headerLength + 4 * 7)).to.equal(6.5);
  });

  it('a one-dimensional shape is written as a Python 1-tuple, and reads back as written', () => {
    const bytes = encodeNpy([4], Float32Array.of(1, 2, 3, 4));
    expect(bytes.toString('latin1', 10, 10 + bytes.readUInt16LE(8))).to.include("'shape': (4,)");
    const path = join(root, 'output_0.npy');
    writeFileSync(path, bytes);
    expect(readNpy(path)).to.deep.equal({ shape: [4], data: Float32Array.of(1, 2, 3, 4), dtype: '<f4' });
  });

  it('encodes a view of a larger array as its own values only', () => {
    const whole = Float32Array.of(9, 1, 2, 9);
    const path = join(root, 'view.npy');
    writeFileSync(path, encodeNpy([2], whole.subarray(1, 3)));
    expect(readNpy(path).data).to.deep.equal(Float32Array.of(1, 2));
  });
});
