import { expect } from 'chai';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNpy, writeNpy } from '../src/io/npy.js';

describe('writeNpy', () => {
  let root: string;
  beforeEach(() => { root = mkdtempSync(join(tmpdir(), 'higher-pose-npy-')); });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('writes the NPY 1.0 format: magic, header padded to 64 bytes with a newline, little-endian float32, C order, the shape', async () => {
    const path = join(root, 'output_0.npy');
    const data = Float32Array.from({ length: 2 * 3 * 5 }, (_, i) => i - 0.5);
    await writeNpy(path, [2, 3, 5], data);
    const bytes = readFileSync(path);
    expect([...bytes.subarray(0, 8)]).to.deep.equal([0x93, ...Buffer.from('NUMPY'), 1, 0]);
    const headerLength = bytes.readUInt16LE(8);
    expect((10 + headerLength) % 64).to.equal(0);
    const header = bytes.toString('latin1', 10, 10 + headerLength);
    expect(header.endsWith('\n')).to.equal(true);
    expect(header.trimEnd()).to.equal("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 5), }");
    expect(bytes.length).to.equal(10 + headerLength + 4 * data.length);
    expect(bytes.readFloatLE(10 + headerLength + 4 * 7)).to.equal(6.5);
    await writeNpy(path, [4], Float32Array.of(1, 2, 3, 4));
    expect(readFileSync(path).toString('latin1', 10, 10 + readFileSync(path).readUInt16LE(8))).to.include("'shape': (4,)");
    expect(readNpy(path)).to.deep.equal({ shape: [4], data: Float32Array.of(1, 2, 3, 4), dtype: '<f4' });
  });

  it("leaves another run's file being written beside the same name alone", async () => {
    const path = join(root, 'output_0.npy');
    // The temporary file of a heatmaps run writing into the same folder (its name was fixed: output_0.npy.partial).
    const others = join(root, 'output_0.npy.partial');
    writeFileSync(others, 'another run, still writing');
    await writeNpy(path, [1], Float32Array.of(3));
    expect(readFileSync(others, 'utf8')).to.equal('another run, still writing');
    expect(readNpy(path).data).to.deep.equal(Float32Array.of(3));
    expect(readdirSync(root).sort()).to.deep.equal(['output_0.npy', 'output_0.npy.partial']);
  });

  it('a file that cannot be written is an error naming it, and leaves nothing', async () => {
    writeFileSync(join(root, 'blocker'), '');
    let failure: unknown;
    await writeNpy(join(root, 'blocker', 'output_0.npy'), [1], Float32Array.of(1)).catch((err: unknown) => (failure = err));
    expect((failure as Error).name).to.equal('NpyError');
    expect((failure as Error).message).to.match(/blocker\/output_0\.npy: cannot write the file \(E(EXIST|NOTDIR)\)$/);
    expect(readdirSync(root)).to.deep.equal(['blocker']);
  });
});
