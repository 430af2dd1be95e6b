import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
});
