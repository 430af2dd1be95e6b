/** Reading a file the user named, a pipe too, within a bound. */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReadBoundError, readFileUpTo } from '../src/io/read-bounded.js';
import { withPipedOnce } from './helpers/piped.js';

describe('readFileUpTo', function () {
  if (process.platform === 'win32') return;
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'higher-pose-read-bounded-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a file, and a pipe, whole up to the bound', async () => {
    const content = Buffer.from('x'.repeat(3000));
    writeFileSync(join(dir, 'file'), content);
    expect(readFileUpTo(join(dir, 'file'), 3000).equals(content)).to.equal(true);
    let piped: Buffer | undefined;
    await withPipedOnce(join(dir, 'fifo'), content, async () => void (piped = readFileUpTo(join(dir, 'fifo'), 3000)));
    expect(piped!.equals(content)).to.equal(true);
  });

  it("reads a stdin that is in non-blocking mode (a socket Node opened as a stream) to its end, waiting for bytes still to come (was EAGAIN)", async () => {
    // The child reads its stdin, a socket (a Node parent's stdio 'pipe') that touching process.stdin made
    // non-blocking, by name; the bytes come only once it has said it is reading.
    const script = `const { readFileUpTo } = await import(${JSON.stringify(new URL('../src/io/read-bounded.ts', import.meta.url).href)});
      void process.stdin.isTTY;
      process.stdout.write('reading\\n');
      const bytes = readFileUpTo('/dev/stdin', 1 << 20);
      process.stdout.write(bytes.toString());`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    try {
      let stdout = '';
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
      const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
      await new Promise<void>((resolve) => {
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk;
          if (stdout === 'reading\n') resolve();
        });
        void closed.then(() => resolve());
      });
      child.stdin.write('late ');
      child.stdin.end('bytes');
      expect(await closed, stderr).to.equal(0);
      expect(stdout).to.equal('reading\nlate bytes');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('leaves `spare` bytes free after the content in its buffer, read from a file and from a pipe', async () => {
    const content = Buffer.from('y'.repeat(5000));
    writeFileSync(join(dir, 'file'), content);
    const spareAfter = (bytes: Buffer): number => bytes.buffer.byteLength - bytes.byteOffset - bytes.byteLength;
    const fromFile = readFileUpTo(join(dir, 'file'), 6000, 3);
    let piped: Buffer | undefined;
    await withPipedOnce(join(dir, 'fifo'), content, async () => void (piped = readFileUpTo(join(dir, 'fifo'), 6000, 3)));
    for (const bytes of [fromFile, piped!]) {
      expect(bytes.equals(content)).to.equal(true);
      expect(spareAfter(bytes)).to.be.at.least(3);
    }
  });

  it('a file that reports size 0 but holds data (procfs, some FUSE files) is read to its end, with `spare` bytes as without', function () {
    const procfs = '/proc/version';
    if (!existsSync(procfs) || statSync(procfs).size !== 0) this.skip();
    const content = readFileSync(procfs);
    expect(content.length, `${procfs} holds data`).to.be.greaterThan(0);
    const withSpare = readFileUpTo(procfs, 1 << 20, 3);
    expect(withSpare.equals(content), 'read with spare bytes').to.equal(true);
    expect(withSpare.buffer.byteLength - withSpare.byteOffset - withSpare.byteLength).to.be.at.least(3);
    expect(readFileUpTo(procfs, 1 << 20).equals(content), 'read without').to.equal(true);
  });

  it('BAD CALL - a file past the bound, a pipe read only up to it, and a device are ReadBoundErrors keeping the first bytes', async () => {
    writeFileSync(join(dir, 'file'), 'PK\x03\x04 and more');
    expect(() => readFileUpTo(join(dir, 'file'), 10)).to.throw(ReadBoundError, 'is 13 bytes, more than 10 bytes').with.property('start').that.deep.equals(Buffer.from('PK\x03\x04 and more'));
    let error: unknown;
    // The writer gives 3 MiB: more than one read of the reader's chunk.
    await withPipedOnce(join(dir, 'fifo'), Buffer.alloc(3 << 20, 0x61), async () => void (error = catching(() => readFileUpTo(join(dir, 'fifo'), 2 << 20))));
    expect(error).to.be.instanceOf(ReadBoundError).with.property('message', 'gives more than 2 MiB');
    expect((error as ReadBoundError).start).to.have.length(64);
    expect(() => readFileUpTo('/dev/zero', 2 << 20)).to.throw(ReadBoundError, 'is a character device').with.property('reason', 'device');
  });
});

function catching(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}
