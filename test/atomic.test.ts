import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AtomicFileWriter, FileWriteError, makeFolders, notingNewFolders, writeFileAtomic, writeFileSetAtomic } from '../src/io/atomic.js';

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
    // The file in the way named, on every Node version (Node 20's stat says ENOTDIR for the path below it).
    expect(() => makeFolders(join(root, 'file', 'below'))).to.throw(/EEXIST.*'[^']*file'$/);
    expect(existsSync(join(root, 'file', 'below'))).to.equal(false);
  });

  it('fails under /proc, where a recursive mkdir retries forever', function () {
    if (!existsSync('/proc/self')) this.skip();
    // In a child process: a regression would hang this one.
    const script = "import { makeFolders } from './src/io/atomic.ts'; try { makeFolders('/proc/higher-pose-test/out'); } catch (err) { console.log(err.code); }";
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL' });
    expect(child.signal, 'timed out').to.equal(null);
    expect(child.stdout.trim()).to.equal('ENOENT');
  });
});

describe('notingNewFolders', () => {
  let root: string;
  beforeEach(() => { root = mkdtempSync(join(tmpdir(), 'higher-pose-new-folders-')); });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('on failure removes the folders made since, where empty; a folder that was there, one holding a file and its parents are kept', () => {
    makeFolders(join(root, 'before'));
    const endNoting = notingNewFolders();
    makeFolders(join(root, 'before', 'empty', 'deeper'));
    makeFolders(join(root, 'written', 'into'));
    writeFileSync(join(root, 'written', 'into', 'file'), '');
    // Made by another run inside this one, which succeeded: still this run's to remove.
    const endInner = notingNewFolders();
    makeFolders(join(root, 'inner'));
    endInner(false);
    endNoting(true);
    expect(readdirSync(root).sort()).to.deep.equal(['before', 'written']);
    expect(readdirSync(join(root, 'before'))).to.deep.equal([]);
    expect(readdirSync(join(root, 'written', 'into'))).to.deep.equal(['file']);
  });

  it('keeps them after a run that succeeded, and never removes folders made while no run noted them', () => {
    const endSucceeded = notingNewFolders();
    makeFolders(join(root, 'succeeded'));
    endSucceeded(false);
    makeFolders(join(root, 'unnoted'));
    notingNewFolders()(true);
    expect(readdirSync(root).sort()).to.deep.equal(['succeeded', 'unnoted']);
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

  it('BAD CALL - commit with its signal aborted before the rename (Ctrl-C as the file is synced): the reason thrown, no file of it left', async () => {
    const path = join(root, 'poses.jsonl');
    writeFileSync(path, 'an earlier run\n');
    const writer = await AtomicFileWriter.open(path);
    await writer.write('{"frame":0}\n');
    const interrupt = new AbortController();
    const reason = new Error('interrupted by SIGINT');
    interrupt.abort(reason);
    const err = await writer.commit(interrupt.signal).then(() => undefined, (e: unknown) => e);
    expect(err).to.equal(reason);
    expect(readdirSync(root)).to.deep.equal(['poses.jsonl']);
    expect(readFileSync(path, 'utf8')).to.equal('an earlier run\n');
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

  it('BAD CALL - a failure names the file and the step, not the temporary name, with the system\'s code and error kept', async function () {
    const failureOf = (promise: Promise<unknown>): Promise<FileWriteError> =>
      promise.then(() => expect.fail('no error'), (err: unknown) => {
        expect(err).to.be.instanceOf(FileWriteError);
        return err as FileWriteError;
      });
    // A full disk: /dev/full, written into as a device (never renamed over).
    if (statSync('/dev/full', { throwIfNoEntry: false })?.isCharacterDevice()) {
      const full = await failureOf(writeFileAtomic('/dev/full', 'x'));
      expect(full.message).to.equal('/dev/full: writing failed: ENOSPC: no space left on device');
      expect(full.code).to.equal('ENOSPC');
      expect((full.cause as NodeJS.ErrnoException).code).to.equal('ENOSPC');
    }
    // A folder that took the name while the file was written: the rename fails.
    const path = join(root, 'results.json');
    const writer = await AtomicFileWriter.open(path);
    await writer.write('[]');
    mkdirSync(join(path, 'inside'), { recursive: true });
    const moved = await failureOf(writer.commit());
    expect(moved.message).to.match(/results\.json: cannot move the finished file into place: E(ISDIR|NOTEMPTY|EXIST): [^,']+$/);
    expect(moved.code).to.match(/^E(ISDIR|NOTEMPTY|EXIST)$/);
    expect(readdirSync(root)).to.deep.equal(['results.json']);
    // A file where a folder of the path would be: that file is named.
    writeFileSync(join(root, 'file'), '');
    const created = await failureOf(writeFileAtomic(join(root, 'file', 'out.json'), 'x'));
    expect(created.message).to.equal(`${join(root, 'file', 'out.json')}: cannot create the file: EEXIST: file already exists (${join(root, 'file')})`);
    expect(created.code).to.equal('EEXIST');
  });
});

describe('writeFileSetAtomic', () => {
  let root: string;
  beforeEach(() => { root = mkdtempSync(join(tmpdir(), 'higher-pose-set-')); });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('writes every file of the set', async () => {
    await writeFileSetAtomic([{ path: join(root, 'a.txt'), data: 'a' }, { path: join(root, 'sub', 'b.bin'), data: new Uint8Array([1, 2]) }]);
    expect(readFileSync(join(root, 'a.txt'), 'utf8')).to.equal('a');
    expect([...readFileSync(join(root, 'sub', 'b.bin'))]).to.deep.equal([1, 2]);
    expect(readdirSync(root).sort()).to.deep.equal(['a.txt', 'sub']);
  });

  it('BAD CALL - a file that cannot be written (a file where its folder would be): nothing of the set written, an older file under a name of the set left as it was', async () => {
    writeFileSync(join(root, 'a.txt'), 'older');
    writeFileSync(join(root, 'file'), '');
    const failed = await writeFileSetAtomic([{ path: join(root, 'a.txt'), data: 'new' }, { path: join(root, 'file', 'b.txt'), data: 'b' }]).catch((err: unknown) => err);
    expect(failed).to.be.instanceOf(FileWriteError);
    expect((failed as FileWriteError).path).to.equal(join(root, 'file', 'b.txt'));
    expect(readdirSync(root).sort()).to.deep.equal(['a.txt', 'file']);
    expect(readFileSync(join(root, 'a.txt'), 'utf8')).to.equal('older');
  });

  it('BAD CALL - a rename that fails (a folder took a name meanwhile): the files of the set already renamed are removed, no temporary file left', async () => {
    mkdirSync(join(root, 'b.txt', 'inside'), { recursive: true });
    const failed = await writeFileSetAtomic([{ path: join(root, 'a.txt'), data: 'a' }, { path: join(root, 'b.txt'), data: 'b' }]).catch((err: unknown) => err);
    expect(failed).to.be.instanceOf(FileWriteError);
    expect((failed as FileWriteError).message).to.match(/b\.txt: cannot move the finished file into place: /);
    expect(readdirSync(root)).to.deep.equal(['b.txt']);
  });
});
