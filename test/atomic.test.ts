import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { closeSync, constants, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeFolders, writeFileAtomic } from '../src/io/atomic.js';

describe('makeFolders', () => {
  let root: string;
  beforeEach(() => { root = mkdtempSync(join(tmpdir(), 'higher-pose-folders-')); });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('creates the missing levels and accepts an existing folder', () => {
    const deep = join(root, 'a', 'b', 'c');
    makeFolders(deep);
    expect(statSync(deep).isDirectory()).to.equal(true);
    expect(() => makeFolders(deep)).not.to.throw();
  });

  it('fails where a file is in the way', () => {
    writeFileSync(join(root, 'file'), '');
    expect(() => makeFolders(join(root, 'file'))).to.throw(/EEXIST/);
    expect(() => makeFolders(join(root, 'file', 'below'))).to.throw(/ENOTDIR/);
    expect(existsSync(join(root, 'file', 'below'))).to.equal(false);
  });

  it('fails under /proc, where a recursive mkdir retries forever', function () {
    if (!existsSync('/proc/self')) this.skip();
    // In a child process: a regression would hang this one.
    const script = "import { makeFolders } from './src/io/atomic.ts'; try { makeFolders('/proc/higher-pose-test/out'); } catch (err) { console.log(err.code); }";
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(child.signal, 'timed out').to.equal(null);
    expect(child.stdout.trim()).to.equal('ENOENT');
  });
});

describe('writeFileAtomic', () => {
  let root: string;
  beforeEach(() => { root = mkdtempSync(join(tmpdir(), 'higher-pose-atomic-')); });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('two writes to one path at once in one process: each whole, the last renamed wins, no temporary file left', async () => {
    const path = join(root, 'results.json');
    // The long one is still being written when the short one starts and ends.
    const long = 'a'.repeat(3_000_000);
    const short = 'b'.repeat(1000);
    await Promise.all([writeFileAtomic(path, long), writeFileAtomic(path, short)]);
    expect([long, short]).to.include(readFileSync(path, 'utf8'));
    expect(readdirSync(root)).to.deep.equal(['results.json']);
  });

  it('a FIFO or a device in place of the file is written into, not replaced by a plain file', async function () {
    const fifo = join(root, 'pipe');
    if (spawnSync('mkfifo', [fifo]).status !== 0) this.skip();
    // Non-blocking: the FIFO has a reader (the write would block without one), and a failing test cannot hang.
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      await writeFileAtomic(fifo, 'through the pipe');
      expect(statSync(fifo).isFIFO(), 'still a FIFO').to.equal(true);
      const got = Buffer.alloc(64);
      expect(got.toString('utf8', 0, readSync(reader, got))).to.equal('through the pipe');
    } finally {
      closeSync(reader);
    }
    expect(readdirSync(root)).to.deep.equal(['pipe']);
    // A full disk is an error (where a rename once replaced /dev/full itself, run as root).
    if (statSync('/dev/full', { throwIfNoEntry: false })?.isCharacterDevice()) {
      let failure: unknown;
      await writeFileAtomic('/dev/full', 'x').catch((err: unknown) => (failure = err));
      expect((failure as NodeJS.ErrnoException | undefined)?.code).to.equal('ENOSPC');
      expect(statSync('/dev/full').isCharacterDevice()).to.equal(true);
    }
  });
});
