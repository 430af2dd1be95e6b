import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeFolders } from '../src/io/atomic.js';

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
