/**
 * Commands stopped by a signal (Ctrl-C, `kill`) while they write their outputs: run as child
 * processes, signalled at a point they cannot pass before the signal (a write held, a model that
 * never loads, a full pipe), then the output folders listed.
 */
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { DEMO_IMAGE, TINY_COCO_CHECKPOINT } from '../src/paths.js';
import { Interrupted } from '../src/cli/interrupted.js';
import { cli, expectRejection } from './helpers/cli.js';
import { CLI_SCRIPT } from './helpers/cli-process.js';

const TINY_MODEL = ['--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--input-size', '256'];

/**
 * The command line of eval and video (buildProgram's, its other commands left out), whose model never finishes loading: the file
 * `marker` is written as the load starts, a fixed point to signal the run as its model loads.
 */
const loadingForeverScript = (marker: string): string => `Promise.all([import('node:fs'), import('./src/cli/main.ts'), import('./src/cli/commands/eval.ts'), import('./src/cli/commands/video.ts')])
  .then(async ([fs, m, e, v]) => {
    const createEstimator = () => { fs.writeFileSync(${JSON.stringify(marker)}, ''); setInterval(() => {}, 1000); return new Promise(() => {}); };
    const program = m.buildProgram();
    program.commands.splice(0);
    e.registerEval(program, { createEstimator });
    v.registerVideo(program, { createEstimator });
    await program.parseAsync(['node', 'higher-pose', ...process.argv.slice(1)]);
  })`;

/**
 * The command line, whose requests (fetch) are never answered: the file `marker` is written as one is made (a download
 * asks for its file once it holds its lock), a fixed point to signal the run as it downloads.
 */
const unansweredFetchScript = (marker: string): string => `import('node:fs').then((fs) => {
    globalThis.fetch = () => { fs.writeFileSync(${JSON.stringify(marker)}, ''); setInterval(() => {}, 1000); return new Promise(() => {}); };
    return ${CLI_SCRIPT};
  })`;

/**
 * The command line, whose ONNX Runtime session is never made: the file `marker` is written as the network is asked for, once
 * the checkpoint is compiled, a fixed point to signal the run as its model loads.
 */
const sessionNeverMadeScript = (marker: string): string => `Promise.all([import('node:fs'), import('onnxruntime-node')]).then(([fs, ort]) => {
    ort.InferenceSession.create = () => { fs.writeFileSync(${JSON.stringify(marker)}, ''); setInterval(() => {}, 1000); return new Promise(() => {}); };
    return ${CLI_SCRIPT};
  })`;

/**
 * The command line, whose writes of the files named `*${suffix}` are held: a file opened under such a name is written but not
 * synced (an atomic write syncs its temporary file, written whole, before renaming it into place; the eval journal each image
 * it holds), one written whole by writeFile is made but left empty; `marker` is written then. A fixed point to signal the run
 * as it writes such a file. Held for good, or with `untilCtrlC` until the run has heard a Ctrl-C (a run that stops after its
 * work in hand): a run stopped at once would write on meanwhile. The builtin module's functions are replaced
 * (syncBuiltinESMExports: its importers too).
 */
const heldWritesScript = (marker: string, suffix: string, untilCtrlC = false): string => `const fs = require('node:fs');
  const promises = require('node:fs/promises');
  const held = () => new Promise((resolve) => {
    fs.writeFileSync(${JSON.stringify(marker)}, '');
    const alive = setInterval(() => {}, 1000);
    // After the run's own listeners: the Ctrl-C heard first.
    if (${untilCtrlC}) process.once('SIGINT', () => resolve(clearInterval(alive)));
  });
  const isHeld = (path) => String(path).endsWith(${JSON.stringify(suffix)});
  const { open, writeFile } = promises;
  promises.open = async (path, ...rest) => {
    const handle = await open(path, ...rest);
    const { sync } = handle;
    if (isHeld(path)) handle.sync = () => held().then(() => sync.call(handle));
    return handle;
  };
  promises.writeFile = async (path, ...rest) => (isHeld(path) ? writeFile(path, '').then(held) : Promise.resolve()).then(() => writeFile(path, ...rest));
  require('node:module').syncBuiltinESMExports();
  ${CLI_SCRIPT}`;

/**
 * eval's command line (buildProgram's, its other commands left out), whose estimator finds nobody: of the sixth image it
 * estimates, it says `estimating` on stderr and answers only once the run has heard a Ctrl-C, a fixed point to signal the
 * run as its last image of six is in flight; with `failure`, the answer is that image's failure, an Error of that message.
 */
const sixthImageHeldScript = (estimating: string, failure?: string, held = 6): string => `Promise.all([import('./src/cli/main.ts'), import('./src/cli/commands/eval.ts')])
  .then(async ([m, e]) => {
    let calls = 0;
    const estimatePoses = () => {
      if (++calls < ${held}) return Promise.resolve([]);
      process.stderr.write(${JSON.stringify(estimating)});
      const alive = setInterval(() => {}, 1000);
      // After the run's own listener: the Ctrl-C heard first.
      return new Promise((resolve, reject) => process.once('SIGINT', () => {
        clearInterval(alive);
        ${failure === undefined ? 'resolve([])' : `reject(new Error(${JSON.stringify(failure)}))`};
      }));
    };
    const program = m.buildProgram();
    program.commands.splice(0);
    e.registerEval(program, { createEstimator: async () => ({ estimatePoses, dispose: async () => {} }) });
    await program.parseAsync(['node', 'higher-pose', ...process.argv.slice(1)]);
  })`;

/** The command line, sending itself SIGINT (Ctrl-C) as it prints eval's table of scores (AP50) on stdout. */
const ctrlCAsScoresPrintedScript = `const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (text, ...rest) => {
    const written = write(text, ...rest);
    if (String(text).includes('AP50')) process.kill(process.pid, 'SIGINT');
    return written;
  };
  ${CLI_SCRIPT}`;

/**
 * The FIFO `fifo` opened to read, once a writer opens it; should the process end (`ended`) without opening it, the
 * reader is let go (an open of the FIFO to read and write) and the process's end told.
 */
async function openedByWriter(fifo: string, ended: Promise<{ stderr: string }>): Promise<FileHandle> {
  const opening = open(fifo, 'r');
  const endedFirst = await Promise.race([opening.then(() => undefined), ended]);
  if (endedFirst === undefined) return opening;
  closeSync(openSync(fifo, 'r+'));
  await (await opening).close();
  throw new Error(`the run ended without opening ${fifo}: ${endedFirst.stderr}`);
}

describe('commands interrupted while writing', function () {
  this.timeout(120_000);
  let dir: string;
  const children: ChildProcess[] = [];
  const watchers: FSWatcher[] = [];
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'higher-pose-interrupted-')); });
  afterEach(() => {
    watchers.splice(0).forEach((watcher) => watcher.close());
    children.splice(0).forEach((child) => child.kill('SIGKILL'));
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Starts the command line with `args` (run by `script`); `ended` gives how the process ended and what it printed to stderr,
   * `said(text)` resolves once stderr holds `text` (never, should the process end without it).
   */
  function started(args: string[], script = CLI_SCRIPT): { child: ChildProcess; ended: Promise<{ status: number | null; signal: NodeJS.Signals | null; stderr: string }>; said: (text: string) => Promise<void> } {
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(child);
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    // 'close', not 'exit': stderr read to its end.
    const ended = new Promise<{ status: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => child.on('close', (status, signal) => resolve({ status, signal, stderr })));
    const said = (text: string) => new Promise<void>((resolve) => {
      const heard = (): void => {
        if (!stderr.includes(text)) return;
        child.stderr!.off('data', heard);
        resolve();
      };
      child.stderr!.on('data', heard);
      heard();
    });
    return { child, ended, said };
  }

  /**
   * Runs the command line with `args`, sends `signal` as soon as a file named `*${appearing}` (a
   * temporary file) appears in `folder` (made now), and again once the run has said `again` on stderr when given, and
   * gives how the process ended and what it printed to stderr.
   */
  async function interruptedWhileWriting(args: string[], folder: string, signal: NodeJS.Signals, again?: string, appearing = '.tmp', script = CLI_SCRIPT): Promise<{ status: number | null; signal: NodeJS.Signals | null; stderr: string }> {
    mkdirSync(folder, { recursive: true });
    const { child, ended, said } = started(args, script);
    let sent = false;
    watchers.push(watch(folder, (_event, name) => {
      if (sent || !name?.endsWith(appearing)) return;
      sent = true;
      child.kill(signal);
      if (again !== undefined) void said(again).then(() => child.kill(signal));
    }));
    const result = await ended;
    expect(sent, `no temporary file appeared in ${folder}: ${result.stderr}`).to.equal(true);
    return result;
  }

  it('BAD CALL - heatmaps stopped by Ctrl-C as its files are written: none of them left, nor temporary files, and the signal\'s status', async () => {
    const out = join(dir, 'maps');
    mkdirSync(out);
    // Signalled as the first map's temporary file, written whole, is synced (never, here) before the set is renamed into place.
    const marker = 'writing';
    const ended = await interruptedWhileWriting(['heatmaps', DEMO_IMAGE(), ...TINY_MODEL, '--out', out], dir, 'SIGINT', undefined, marker, heldWritesScript(join(dir, marker), '.tmp'));
    expect({ status: ended.status, signal: ended.signal }, ended.stderr).to.deep.equal({ status: null, signal: 'SIGINT' });
    expect(ended.stderr).to.include(`higher-pose: interrupted by SIGINT; no files written to ${out}\n`);
    expect(readdirSync(out)).to.deep.equal([]);
  });

  it('BAD CALL - predict --render stopped by Ctrl-C or kill as a drawing is written: no temporary drawing left, nor results file', async () => {
    for (const [signal, out] of [['SIGINT', []], ['SIGTERM', ['--out', join(dir, 'results.json')]]] as const) {
      const drawn = join(dir, `drawn${out.length}`);
      mkdirSync(drawn);
      // Signalled as the drawing's temporary file is written (never finished, here); a marker of its own for each run.
      const marker = `writing-${signal}`;
      const ended = await interruptedWhileWriting(['predict', DEMO_IMAGE(), ...TINY_MODEL, '--no-flip', '--render', drawn, ...out], dir, signal, undefined, marker, heldWritesScript(join(dir, marker), '.tmp'));
      expect({ status: ended.status, signal: ended.signal }, ended.stderr).to.deep.equal({ status: null, signal });
      const results = out.length > 0 ? `${out[1]} not written` : 'the results on stdout are cut short';
      // Signalled as the first drawing is written: none made yet.
      expect(ended.stderr).to.include(`higher-pose: interrupted by ${signal}; ${results}; nothing drawn\n`);
      expect(readdirSync(drawn), out.join(' ')).to.deep.equal([]);
      expect(readdirSync(dir).filter((name) => !name.startsWith('writing-')).sort(), out.join(' ')).to.deep.equal(['drawn0', ...(out.length > 0 ? ['drawn2'] : [])]);
    }
  });

  it('BAD CALL - predict stopped by Ctrl-C before anything was drawn: the --render folder it made (and its parent) is removed', async () => {
    const drawn = join(dir, 'new', 'drawn');
    // Signalled as the first drawing is written (never finished, here), the model loaded, the results file opened and the folder made.
    const marker = 'writing';
    const ended = await interruptedWhileWriting(['predict', DEMO_IMAGE(), ...TINY_MODEL, '--no-flip', '--render', drawn, '--out', join(dir, 'results.json')], dir, 'SIGINT', undefined, marker, heldWritesScript(join(dir, marker), '.tmp'));
    expect({ status: ended.status, signal: ended.signal }, ended.stderr).to.deep.equal({ status: null, signal: 'SIGINT' });
    expect(readdirSync(dir)).to.deep.equal([marker]);
  });

  it('BAD CALL - predict stopped by Ctrl-C as its model loads: the --render folder it made is removed, and it says nothing was written', async () => {
    const drawn = join(dir, 'new', 'drawn');
    const results = join(dir, 'results.json');
    // Signalled as the network is made (never, here), the folder made before: the run cannot have gone further.
    const marker = 'loading';
    const ended = await interruptedWhileWriting(['predict', DEMO_IMAGE(), ...TINY_MODEL, '--render', drawn, '--out', results], dir, 'SIGINT', undefined, marker, sessionNeverMadeScript(join(dir, marker)));
    expect({ status: ended.status, signal: ended.signal }, ended.stderr).to.deep.equal({ status: null, signal: 'SIGINT' });
    expect(ended.stderr).to.include(`higher-pose: interrupted by SIGINT; ${results} not written; nothing drawn\n`);
    expect(readdirSync(dir)).to.deep.equal([marker]);
  });

  /** Six annotated images, each the sample picture: the tiny model finds some 30 people in each, a results file of some 140 kB. */
  function sixImages(count = 6): string {
    const annotations = join(dir, 'annotations.json');
    const images = Array.from({ length: count }, (_, i) => ({ id: i + 1, file_name: basename(DEMO_IMAGE()), width: 640, height: 480 }));
    writeFileSync(annotations, JSON.stringify({ images, annotations: [], categories: [{ id: 1, name: 'person' }] }));
    return annotations;
  }

  it('BAD CALL - eval stopped by Ctrl-C once images are journaled: it says where they are kept and how to resume, and ends by the signal', async () => {
    const out = join(dir, 'run', 'results.json');
    const args = ['eval', '--images', dirname(DEMO_IMAGE()), '--annotations', sixImages(), ...TINY_MODEL, '--no-flip', '--out', out];
    // Signalled as the first image journaled is synced, held until the run has heard the Ctrl-C: it cannot have finished.
    const marker = 'journaling';
    const ended = await interruptedWhileWriting(args, dir, 'SIGINT', undefined, marker, heldWritesScript(join(dir, marker), '.journal', true));
    expect({ status: ended.status, signal: ended.signal }, ended.stderr).to.deep.equal({ status: null, signal: 'SIGINT' });
    // Said as the Ctrl-C is heard, before the images in flight are done.
    expect(ended.stderr).to.include('higher-pose: stopping after the images in progress (Ctrl-C again to stop now)\n');
    expect(ended.stderr).to.include(`higher-pose: interrupted by SIGINT; finished images are kept in ${out}.journal; run the same command again to resume\n`);
    expect(readdirSync(dirname(out))).to.deep.equal(['results.json.journal']);
  });

  it('BAD CALL - eval and video stopped by Ctrl-C or kill as their model loads: they say nothing was written, leave nothing, and end by the signal', async () => {
    const video = join(dir, 'clip.mp4');
    writeFileSync(video, 'not read before the model loads');
    const images = join(dir, 'images');
    mkdirSync(images);
    const runs: [NodeJS.Signals, string[], string][] = [
      ['SIGINT', ['eval', '--images', images, '--annotations', sixImages(), ...TINY_MODEL, '--out', join(dir, 'out', 'results.json')], `${join(dir, 'out', 'results.json')} not written`],
      ['SIGTERM', ['eval', '--images', images, '--annotations', join(dir, 'annotations.json'), ...TINY_MODEL, '--out', join(dir, 'out', 'results.json')], `${join(dir, 'out', 'results.json')} not written`],
      ['SIGINT', ['video', video, ...TINY_MODEL, '--out', join(dir, 'poses.jsonl')], `stopped after 0 frames; ${join(dir, 'poses.jsonl')} not written`],
    ];
    for (const [i, [signal, args, outcome]] of runs.entries()) {
      // A marker of its own for each run: the folder's watchers all hear of every file.
      const marker = `loading-${i}`;
      const ended = await interruptedWhileWriting(args, dir, signal, undefined, marker, loadingForeverScript(join(dir, marker)));
      expect({ status: ended.status, signal: ended.signal }, `${args[0]} ${signal}: ${ended.stderr}`).to.deep.equal({ status: null, signal });
      expect(ended.stderr).to.include(`higher-pose: interrupted by ${signal}; ${outcome}\n`);
      expect(readdirSync(dir).filter((name) => !name.startsWith('loading-')).sort()).to.deep.equal(['annotations.json', 'clip.mp4', 'images']);
    }
  });

  it('BAD CALL - export-tfjs stopped by Ctrl-C: it says the folder is as it was, and the CLI ends by the signal', async () => {
    const out = join(dir, 'web_model');
    // Ctrl-C to the command's own SIGINT listener (emitting the signal would reach mocha's too), as it is added: called
    // once the run yields, the model compiled and its first file being written (a write is not done in one turn).
    const ctrlCOnceListening = (event: string | symbol, listener: (signal: NodeJS.Signals) => void): void => {
      if (event !== 'SIGINT') return;
      process.off('newListener', ctrlCOnceListening);
      setImmediate(() => listener('SIGINT'));
    };
    process.on('newListener', ctrlCOnceListening);
    try {
      await expectRejection(cli('export-tfjs', ...TINY_MODEL.slice(0, 4), '--out', out), Interrupted, new RegExp(`^interrupted by SIGINT; ${out} is as it was$`));
    } finally {
      process.off('newListener', ctrlCOnceListening);
    }
    expect(readdirSync(dir)).to.deep.equal([]);
  });

  it('BAD CALL - export-onnx stopped by Ctrl-C or kill as the model is written: no temporary file left, and it says the model was not written', async function () {
    // Ctrl-C as the model is written into a FIFO: the model (some 3 MB) fills the pipe (64 KiB), unread until the run has ended.
    const piped = join(dir, 'piped', 'model.onnx');
    mkdirSync(dirname(piped));
    if (spawnSync('mkfifo', [piped]).status !== 0) this.skip();
    const { child, ended } = started(['export-onnx', ...TINY_MODEL.slice(0, 4), '--out', piped]);
    const reader = await openedByWriter(piped, ended);
    child.kill('SIGINT');
    const stopped = await ended;
    await reader.close();
    expect({ status: stopped.status, signal: stopped.signal }, stopped.stderr).to.deep.equal({ status: null, signal: 'SIGINT' });
    expect(stopped.stderr).to.include(`higher-pose: interrupted by SIGINT; ${piped} not written\n`);
    // kill as the model's temporary file, written whole, is synced (never, here) before its rename into place.
    const out = join(dir, 'file', 'model.onnx');
    mkdirSync(dirname(out));
    const marker = 'syncing';
    const killed = await interruptedWhileWriting(['export-onnx', ...TINY_MODEL.slice(0, 4), '--out', out], dir, 'SIGTERM', undefined, marker, heldWritesScript(join(dir, marker), '.tmp'));
    expect({ status: killed.status, signal: killed.signal }, killed.stderr).to.deep.equal({ status: null, signal: 'SIGTERM' });
    expect(killed.stderr).to.include(`higher-pose: interrupted by SIGTERM; ${out} not written\n`);
    expect(readdirSync(dirname(out)), killed.stderr).to.deep.equal([]);
  });

  it('BAD CALL - weights fetch stopped by Ctrl-C: it says how much is kept to resume from, and leaves no lock that would hold up the next fetch', async () => {
    const cache = join(dir, 'cache');
    const partial = join(cache, 'higher_hrnet32_coco_512x512-8ae85183_20200713.pth.partial');
    mkdirSync(cache);
    writeFileSync(partial, Buffer.alloc(1000));
    // Signalled as the download asks for the file, its lock held, online or not.
    const ended = await interruptedWhileWriting(['weights', 'fetch', 'coco_w32_512_mmpose', '--cache-dir', cache], dir, 'SIGINT', undefined, 'requested', unansweredFetchScript(join(dir, 'requested')));
    expect({ status: ended.status, signal: ended.signal }, ended.stderr).to.deep.equal({ status: null, signal: 'SIGINT' });
    expect(ended.stderr).to.include(`higher-pose: interrupted by SIGINT; 1000 bytes are kept in ${partial}; run the same command again to resume\n`);
    expect(readdirSync(cache)).to.deep.equal([basename(partial)]);
  });

  it('BAD CALL - eval given one Ctrl-C as its results file is written: the run completes, and it says so', async function () {
    const out = join(dir, 'results.fifo');
    if (spawnSync('mkfifo', [out]).status !== 0) this.skip();
    const { child, ended } = started(['eval', '--images', dirname(DEMO_IMAGE()), '--annotations', sixImages(), ...TINY_MODEL, '--no-flip', '--out', out]);
    // The results (some 140 kB) fill the pipe (64 KiB): the run, which has opened it, writes them until they are read after the Ctrl-C.
    const reader = await openedByWriter(out, ended);
    child.kill('SIGINT');
    const results = await reader.readFile('utf8');
    await reader.close();
    const { status, signal, stderr } = await ended;
    expect({ status, signal }, stderr).to.deep.equal({ status: 0, signal: null });
    expect(stderr).to.include('interrupted by SIGINT after the results were written: the run is complete\n');
    expect(results.length).to.be.greaterThan(64 * 1024);
    expect(JSON.parse(results)).to.have.length.greaterThan(0);
    expect(readdirSync(dir).sort()).to.deep.equal(['annotations.json', 'results.fifo']);
  });

  it('BAD CALL - eval given one Ctrl-C once its last image has started: it says the run finishes the images and writes the results, as it does', async () => {
    const out = join(dir, 'run', 'results.json');
    const estimating = 'estimating the sixth image\n';
    const { child, ended, said } = started(['eval', '--images', dirname(DEMO_IMAGE()), '--annotations', sixImages(), ...TINY_MODEL, '--out', out], sixthImageHeldScript(estimating));
    await Promise.race([said(estimating), ended]);
    child.kill('SIGINT');
    const { status, signal, stderr } = await ended;
    expect({ status, signal }, stderr).to.deep.equal({ status: 0, signal: null });
    // Was 'stopping after the images in progress', though nothing was left to stop.
    expect(stderr).to.include('higher-pose: every image has started; finishing them and writing the results (Ctrl-C again to stop now)\n');
    expect(stderr).to.include('interrupted by SIGINT after the results were written: the run is complete\n');
    expect(readdirSync(dirname(out))).to.deep.equal(['results.json']);
  });

  it('BAD CALL - eval given one Ctrl-C once its last image has started, that image then failing of itself: counted as a failed image, the results written as it said', async () => {
    const out = join(dir, 'run', 'results.json');
    const estimating = 'estimating the sixth image\n';
    const { child, ended, said } = started(['eval', '--images', dirname(DEMO_IMAGE()), '--annotations', sixImages(), ...TINY_MODEL, '--out', out], sixthImageHeldScript(estimating, 'corrupt JPEG'));
    await Promise.race([said(estimating), ended]);
    child.kill('SIGINT');
    const { status, signal, stderr } = await ended;
    // Was ended by the signal, 'interrupted by SIGINT; finished images are kept in ...journal', the failure unsaid.
    expect({ status, signal }, stderr).to.deep.equal({ status: 1, signal: null });
    expect(stderr).to.include('higher-pose: every image has started; finishing them and writing the results (Ctrl-C again to stop now)\n');
    // As without the Ctrl-C: reported, scored as finding nobody, exit status 1.
    expect(stderr).to.match(/coco: 6 images \(5 estimated, 0 resumed, 1 failed\)/);
    expect(stderr).to.include(`failed: 1 image(s), scored as finding nobody\n  id 6: ${DEMO_IMAGE()}: Error: corrupt JPEG\n`);
    expect(stderr).to.include('interrupted by SIGINT after the results were written: the run is complete\n');
    expect(readdirSync(dirname(out))).to.deep.equal(['results.json']);
  });

  it('BAD CALL - eval given one Ctrl-C once its only image has started, that image then failing of itself: the run fails as without the Ctrl-C, not as interrupted', async () => {
    const out = join(dir, 'run', 'results.json');
    const estimating = 'estimating the only image\n';
    const { child, ended, said } = started(['eval', '--images', dirname(DEMO_IMAGE()), '--annotations', sixImages(1), ...TINY_MODEL, '--out', out], sixthImageHeldScript(estimating, 'corrupt JPEG', 1));
    await Promise.race([said(estimating), ended]);
    child.kill('SIGINT');
    const { status, signal, stderr } = await ended;
    // Was 'interrupted by SIGINT; None of the 1 images could be estimated ...', ended by the signal: the Ctrl-C stopped nothing.
    expect({ status, signal }, stderr).to.deep.equal({ status: 1, signal: null });
    expect(stderr).to.include('higher-pose: every image has started; finishing them and writing the results (Ctrl-C again to stop now)\n');
    expect(stderr).to.match(/None of the 1 images could be estimated.*corrupt JPEG/);
    expect(stderr, stderr).to.not.include('interrupted');
  });

  it('BAD CALL - eval given one Ctrl-C as it scores its results (work that holds the event loop): the run completes, and it says so', async () => {
    // The Ctrl-C comes as the table of scores is printed, as one during the scoring would: before the run's next turn of its event loop.
    const { ended } = started(['eval', '--images', dirname(DEMO_IMAGE()), '--annotations', sixImages(), ...TINY_MODEL, '--no-flip', '--out', join(dir, 'results.json')], ctrlCAsScoresPrintedScript);
    const { status, signal, stderr } = await ended;
    expect({ status, signal }, stderr).to.deep.equal({ status: 0, signal: null });
    expect(stderr).to.include('interrupted by SIGINT after the results were written: the run is complete\n');
    expect(readdirSync(dir).sort()).to.deep.equal(['annotations.json', 'results.json']);
  });

  it('BAD CALL - eval stopped by kill, or a second Ctrl-C, as its results file is written: no temporary file left', async () => {
    const annotations = sixImages();
    // The second Ctrl-C once the first one is heard: the run says so at once.
    for (const [signal, again] of [['SIGINT', 'higher-pose: every image is estimated; writing the results (Ctrl-C again to stop now)\n'], ['SIGTERM', undefined]] as const) {
      const out = join(dir, signal, 'results.json');
      const args = ['eval', '--images', dirname(DEMO_IMAGE()), '--annotations', annotations, ...TINY_MODEL, '--no-flip', '--out', out];
      // Signalled as the results' temporary file, written whole, is synced (never, here): every image journaled, the results not in place.
      const marker = `writing-${signal}`;
      const ended = await interruptedWhileWriting(args, dirname(out), signal, again, marker, heldWritesScript(join(dirname(out), marker), '.tmp'));
      expect(readdirSync(dirname(out)).filter((name) => name.endsWith('.tmp')), `${signal}: ${ended.stderr}`).to.deep.equal([]);
      expect({ status: ended.status, signal: ended.signal }, ended.stderr).to.deep.equal({ status: null, signal });
      expect(ended.stderr).to.include(`higher-pose: interrupted by ${signal}; finished images are kept in ${out}.journal; run the same command again to resume\n`);
      expect(readdirSync(dirname(out)).filter((name) => name !== marker)).to.deep.equal(['results.json.journal']);
    }
  });
});
