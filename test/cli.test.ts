/** The command line's exit statuses, through `main` as the `higher-pose` binary runs it. */
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import sharp from 'sharp';
import { main, USAGE_STATUS } from '../src/cli/main.js';
import { DEMO_IMAGE, TINY_COCO_CHECKPOINT } from '../src/paths.js';
import { onnx } from '../src/backend/onnx/proto.js';
import { loadRuntime } from '../src/backend/onnx/session.js';
import { compileModel } from '../src/model/load.js';
import { presetConfig } from '../src/config/presets.js';
import { withPipedOnce } from './helpers/piped.js';
import { evaluateResultsFile, formatStatsTable } from '../src/eval/benchmark.js';
import { CLI_PROCESS } from './helpers/cli-process.js';

/** Runs `main` with its output captured; the exit status it set and what it wrote to stderr and stdout. */
async function run(...args: string[]): Promise<{ status: number; stderr: string; stdout: string }> {
  const saved = process.exitCode;
  const { write: writeOut } = process.stdout;
  const { write: writeErr } = process.stderr;
  const error = console.error;
  let stderr = '';
  let stdout = '';
  const text = (chunk: string | Uint8Array): string => (typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
  process.exitCode = undefined;
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += text(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += text(chunk)), true)) as typeof process.stderr.write;
  console.error = (...parts: unknown[]) => void (stderr += `${parts.join(' ')}\n`);
  try {
    await main(['node', 'higher-pose', ...args]);
    return { status: Number(process.exitCode ?? 0), stderr, stdout };
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
    console.error = error;
    process.exitCode = saved;
  }
}

/** The API's names for options that the command line names otherwise, and its way of giving a value (`backend 'tfjs'`). */
const API_WORDS = /\b(calibrationImages|tfjsBackend|inputSize|maxPeople|maxPoses|minPoseScore|flipTest|detectionThreshold|tagThreshold)\b|(?<![-\w])(precision|backend|device|preset|config|threads) '/;

describe('higher-pose exit statuses', () => {
  it('BAD CALL - a command line that cannot be parsed exits with 2 and says why, for the program and its commands', async () => {
    expect(USAGE_STATUS).to.equal(2);
    const cases: [string[], RegExp][] = [
      [['bogus'], /unknown command 'bogus'/],
      [['predict'], /missing required argument 'images'/],
      [['predict', 'a.jpg', '--frobnicate'], /unknown option '--frobnicate'/],
      // An option of another command: said whose it is.
      [['predict', 'a.jpg', '--every', '2'], /^error: unknown option '--every'\n\(--every is an option of 'video'\)\n/],
      [['heatmaps', 'a.jpg', '--out', 'maps', '--render=drawn'], /^error: unknown option '--render=drawn'\n\(--render is an option of 'predict' and 'video'\)\n/],
      [['weights', 'fetch', 'coco_w32_512', '--limit', '3'], /^error: unknown option '--limit'\n\(--limit is an option of 'eval'\)\n/],
      [['weights', '--cache-dir', 'c'], /^error: unknown option '--cache-dir'\n\(--cache-dir is an option of 'weights list' and 'weights fetch'\)\n/],
      [['predict', 'a.jpg', '--max-people', 'abc'], /'--max-people <n>' argument 'abc' is invalid/],
      [['predict', 'a.jpg', '--format', 'xml'], /'--format <format>' argument 'xml' is invalid\. Allowed choices are json, jsonl/],
      // The API says where those run; the command line did not.
      [['predict', 'a.jpg', '--backend', 'tfjs', '--tfjs-backend', 'webgl'], /'--tfjs-backend <name>' argument 'webgl' is invalid\. Unsupported tfjs backend: webgl\. Must be one of \[tensorflow, wasm, cpu\] \(WebGL and WebGPU are for browsers: export-tfjs writes a model that they load\)\n/],
      [['eval', '--annotations'], /'--annotations <file>' argument missing/],
      [['eval', '--results', 'r.json'], /required option '--annotations <file>' not specified/],
      [['weights'], /Usage: higher-pose weights/],
      [['weights', 'list', '--cache-dir'], /'--cache-dir <dir>' argument missing/],
      [['weights', 'fetch'], /missing required argument 'name'/],
      [['weights', 'fetch', 'nope'], /^error: Unknown model "nope"\. Available: coco_w32_512, /],
      [['help', 'bogus'], /^error: unknown command 'bogus'\n/],
      // What was typed, though the run would find it only later: a preset name, a value, an option a run needs.
      [['predict', 'a.jpg', '--preset', 'bogus', '--weights', 'w.pth'], /'--preset <name>' argument 'bogus' is invalid\. Unsupported preset: bogus\. Must be one of \[coco_w32_512/],
      [['predict', 'a.jpg', '--input-size', '0'], /expected a positive multiple of 64, got 0/],
      [['predict', DEMO_IMAGE(), '--preset', 'tiny_coco'], /^error: --weights is required/],
      [['heatmaps', DEMO_IMAGE(), '--preset', 'tiny_coco', '--out', 'maps'], /^error: --weights is required/],
      [['heatmaps', '-', '--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--out', 'maps'], /^error: heatmaps reads its image from a file, not stdin \('-'\)/],
      // Looked for as a file named '-' once the model had loaded (exit 1).
      [['predict', DEMO_IMAGE(), '--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--precision', 'int8', '--calibrate', '-'], /^error: --calibrate reads images from files, folders or patterns, not stdin \('-'\): give their path\n/],
      [['export-onnx', '--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--precision', 'int8', '--calibrate', '-', '--out', 'm.onnx'], /^error: --calibrate reads images from files, folders or patterns, not stdin \('-'\)/],
      [['eval', '--annotations', 'a.json', '--images', '-', '--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT()], /^error: eval --images names the folder of the annotated images, not stdin \('-'\): give its path\n/],
      [['eval', '--annotations', 'a.json', '--images', DEMO_IMAGE(), '--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT()], /^error: --images \S+sample\.jpg is a file, not a folder: --images names the folder of the annotated images\n/],
      // A typo: found once the model had loaded, as every image missing (exit 1).
      [['eval', '--annotations', 'a.json', '--images', 'no-such-folder', '--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT()], /^error: --images no-such-folder does not exist: --images names the folder of the annotated images\n/],
      [['eval', '--annotations', 'a.json', '--images', join(DEMO_IMAGE(), 'images'), '--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT()], /^error: --images \S+sample\.jpg\/images does not exist: /],
      [['export-onnx', '--preset', 'tiny_coco', '--out', 'm.onnx'], /^error: --weights is required/],
      [['export-tfjs', '--preset', 'tiny_coco', '--out', 'm'], /^error: --weights is required/],
      [['video', 'clip.mp4', '--preset', 'tiny_coco'], /^error: --weights is required/],
      // A folder ran all its images, their drawings' paths on one line.
      [['demo', '--image', dirname(DEMO_IMAGE()), '--out', join(tmpdir(), 'higher-pose-demo-never-made')], /^error: --image \S+images is a folder: demo takes one image file; `higher-pose predict \S+images --render DIR \.\.\.` estimates a folder's images\n/],
      // A video given to predict: it failed once the model had loaded, as 'not an image format that can be decoded' (exit 1).
      [['predict', DEMO_IMAGE(), 'clip.MP4', '--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT()], /^error: clip\.MP4 is a video, and predict reads images: `higher-pose video clip\.MP4` estimates the poses in its frames\n/],
      // So for heatmaps, which failed once the weights were read, in the image reader's words (exit 1).
      [['heatmaps', 'clip.mov', '--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--out', 'maps'], /^error: clip\.mov is a video, and heatmaps reads images: save one of its frames as an image \(`ffmpeg -i clip\.mov -frames:v 1 frame\.png`\) and give that\n/],
      // An empty --cache-dir: list showed the working folder as the cache (exit 0), fetch failed as fetchWeights({ cacheDir: '' }) (a ZooError, exit 1).
      [['weights', 'list', '--cache-dir', ''], /^error: option '--cache-dir <dir>' argument '' is invalid\. expected a folder path, got an empty one \(leave the option out for \$HIGHER_POSE_CACHE or ~\/\.cache\/higher-pose\)\n/],
      [['weights', 'fetch', 'coco_w32_512', '--cache-dir='], /^error: option '--cache-dir <dir>' argument '' is invalid\. expected a folder path/],
      [['eval', '--annotations', 'a.json', '--preset', 'tiny_coco'], /^error: eval needs --images DIR/],
    ];
    for (const [args, message] of cases) {
      const { status, stderr } = await run(...args);
      expect(status, args.join(' ')).to.equal(2);
      expect(stderr, args.join(' ')).to.match(message);
      // The mistake, then a hint: the whole help after it scrolled the line saying what was wrong away.
      if (args.length > 1) expect(stderr, args.join(' ')).to.match(/\n\(add --help for usage\)\n$/).and.not.contain('Usage:');
    }
  });

  it('BAD CALL - --calibrate, --annotations, --results or an image reading stdin beside another argument that reads it: exit 2, saying which to give as a file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'higher-pose-stdin-'));
    try {
      // Nothing is read: a run that got as far would fail with 1, on bytes the other argument took.
      const int8 = ['--preset', 'tiny_coco', '--weights', join(dir, 'missing.pth'), '--precision', 'int8'];
      const cases: [string[], RegExp][] = [
        [['predict', '-', ...int8, '--calibrate', '/dev/stdin'], /^error: the input '-' and --calibrate \/dev\/stdin both read stdin, which gives its bytes once: give the calibration images as files, or a folder of them\n/],
        [['video', '-', ...int8, '--calibrate', dir, '--calibrate', '/dev/fd/0'], /^error: the input '-' and --calibrate \/dev\/fd\/0 both read stdin/],
        [['export-onnx', '--preset', 'tiny_coco', '--weights', '/dev/stdin', '--precision', 'int8', '--calibrate', '/dev/stdin', '--out', join(dir, 'm.onnx')], /^error: --weights \/dev\/stdin and --calibrate \/dev\/stdin both read stdin/],
        [['eval', '--annotations', '/dev/stdin', '--images', dir, '--preset', 'tiny_coco', '--weights', '/dev/stdin'], /^error: --weights \/dev\/stdin and --annotations \/dev\/stdin both read stdin, which gives its bytes once: give the annotations as a file\n/],
        [['eval', '--annotations', '/proc/self/fd/0', '--results', '/dev/stdin'], /^error: --annotations \/proc\/self\/fd\/0 and --results \/dev\/stdin both read stdin, which gives its bytes once: give the results as a file \(a pipe of their own too: --results <\(zcat \.\.\.\)\)\n/],
        // Refused as heatmaps - is, before the weights are looked at.
        [['heatmaps', '/dev/stdin', '--preset', 'tiny_coco', '--weights', '/dev/fd/0', '--out', join(dir, 'maps')], /^error: heatmaps reads its image from a file, not stdin \('-'\)/],
      ];
      for (const [args, message] of cases) {
        const { status, stderr } = await run(...args);
        expect(stderr, args.join(' ')).to.match(message);
        expect(status, args.join(' ')).to.equal(2);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('BAD CALL - demo --image DIR/x.png --out DIR, whose drawing would replace the image: exit 2 naming --out and --image, nothing written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'higher-pose-demo-clash-'));
    try {
      const image = join(dir, 'x.png');
      copyFileSync(DEMO_IMAGE(), image);
      // predict's check refused it, naming its --render, an option demo has not (a ConfigError, exit 1).
      const { status, stderr } = await run('demo', '--image', image, '--out', dir);
      expect(stderr).to.equal(`error: --out ${dir}: demo would write its drawing x.png over the --image ${image}; give another folder\n(add --help for usage)\n`);
      expect(status).to.equal(2);
      expect(readdirSync(dir)).to.deep.equal(['x.png']);
      expect(readFileSync(image)).to.deep.equal(readFileSync(DEMO_IMAGE()));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('BAD CALL - demo --out FILE, an existing file: exit 2 naming --out FILE (not FILE/results.json) as a file where a folder is needed, the file left as it was', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'higher-pose-demo-out-file-'));
    try {
      const file = join(dir, 'notes.txt');
      writeFileSync(file, 'kept');
      // predict's check refused it, naming the results file inside it (a ConfigError, exit 1).
      const { status, stderr } = await run('demo', '--out', file);
      expect(stderr).to.equal(`error: --out ${file} is a file, where demo needs a folder (for its drawing and results.json); give a folder, which is made if missing\n(add --help for usage)\n`);
      expect(status).to.equal(2);
      expect(readdirSync(dir)).to.deep.equal(['notes.txt']);
      expect(readFileSync(file, 'utf8')).to.equal('kept');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('BAD CALL - every output option with a file part-way along its path (an output folder\'s own path a file too): exit 2 naming the option as typed and the file in the way, before any work, the file left as it was', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'higher-pose-out-below-file-'));
    try {
      const file = join(dir, 'notes.txt');
      writeFileSync(file, 'kept');
      // What the commands read, there so that their own checks pass: the annotations are read only once the outputs are checked.
      const images = join(dir, 'images');
      mkdirSync(images);
      const clip = join(dir, 'clip.mp4');
      writeFileSync(clip, 'not probed before the outputs are checked');
      const below = (...names: string[]): string => join(file, ...names);
      // Refused before the weights are read: a run that read them would fail on the missing file.
      const model = ['--preset', 'tiny_coco', '--weights', join(dir, 'missing.pth')];
      const evalRun = ['eval', '--annotations', join(dir, 'missing.json'), '--images', images, ...model];
      /** The message for a file above an output file, and for one in the way of an output folder. */
      const aboveFile = (option: string, path: string, needs: string): string => `${option} ${path}: ${file} is a file, where ${needs}; give another path`;
      const inFolderWay = (option: string, path: string, needs: string): string =>
        `${option} ${path}${path === file || path === `${file}/` ? '' : `: ${file}`} is a file, where ${needs}; give a folder, which is made if missing`;
      const demo = 'demo needs a folder (for its drawing and results.json)';
      const heatmaps = 'heatmaps needs a folder (for its arrays and pictures)';
      const tfjs = 'export-tfjs needs a folder (for model.json and the weight shards)';
      const cases: [string[], string][] = [
        // Was exit 1, after the tiny-model notes: '--out FILE/sub/results.json: FILE is a file, not a folder', a path never typed.
        [['demo', '--out', below('sub')], inFolderWay('--out', below('sub'), demo)],
        [['demo', '--out', `${file}/`], inFolderWay('--out', `${file}/`, demo)],
        // Was exit 1 once the image was read: '--out FILE/sub: cannot create the folder (a file is in the way)', the file unnamed.
        [['heatmaps', DEMO_IMAGE(), ...model, '--out', below('sub')], inFolderWay('--out', below('sub'), heatmaps)],
        [['heatmaps', DEMO_IMAGE(), ...model, '--out', file], inFolderWay('--out', file, heatmaps)],
        // The others were exit 1: a ConfigError, 'FILE is a file, not a folder' (predict --render's 'cannot create the folder (a file is in the way)',
        // naming no file); video's a VideoError (--render's 'the folder FILE/sub does not exist'); weights fetch's a ZooError.
        [['predict', DEMO_IMAGE(), ...model, '--out', below('sub', 'results.json')], aboveFile('--out', below('sub', 'results.json'), 'predict needs a folder (for the results file)')],
        [['predict', DEMO_IMAGE(), ...model, '--render', below('sub')], inFolderWay('--render', below('sub'), 'predict needs a folder (for its drawings)')],
        [[...evalRun, '--out', below('results.json')], aboveFile('--out', below('results.json'), 'eval needs a folder (for the results file)')],
        [[...evalRun, '--out', join(dir, 'results.json'), '--journal', below('sub', 'run.journal')], aboveFile('--journal', below('sub', 'run.journal'), 'eval needs a folder (for its journal)')],
        [['export-onnx', ...model, '--out', below('model.onnx')], aboveFile('--out', below('model.onnx'), 'export-onnx needs a folder (for the model file)')],
        [['export-tfjs', ...model, '--out', below('web_model')], inFolderWay('--out', below('web_model'), tfjs)],
        [['export-tfjs', ...model, '--out', file], inFolderWay('--out', file, tfjs)],
        [['video', clip, ...model, '--out', below('poses.jsonl')], aboveFile('--out', below('poses.jsonl'), 'video needs a folder (for the JSON lines)')],
        [['video', clip, ...model, '--render', below('sub', 'overlay.mp4')], aboveFile('--render', below('sub', 'overlay.mp4'), 'video needs a folder (for the overlay video)')],
        [['weights', 'fetch', 'coco_w32_512_mmpose', '--cache-dir', below('cache')], inFolderWay('--cache-dir', below('cache'), 'weights fetch needs a folder (for the weights cache)')],
      ];
      for (const [args, message] of cases) {
        const { status, stderr } = await run(...args);
        expect(stderr, args.join(' ')).to.equal(`error: ${message}\n(add --help for usage)\n`);
        expect(status, args.join(' ')).to.equal(2);
      }
      expect(readdirSync(dir).sort()).to.deep.equal(['clip.mp4', 'images', 'notes.txt']);
      expect(readdirSync(images)).to.deep.equal([]);
      expect(readFileSync(file, 'utf8')).to.equal('kept');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('BAD CALL - options the estimator refuses exit with 2 before the model loads, naming them as typed; a file that fails to load exits with 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'higher-pose-refused-'));
    try {
      // Neither is read: a run that got as far as loading them would fail with 1.
      const image = join(dir, 'missing.jpg');
      const model = ['--preset', 'tiny_coco', '--weights', join(dir, 'missing.pth'), '--input-size', '256'];
      // Quantized as far as a look at its operators tells.
      const quantizedOnnx = join(dir, 'q.int8.onnx');
      writeFileSync(quantizedOnnx, onnx.ModelProto.encode({ irVersion: 8, graph: { node: [{ opType: 'QuantizeLinear', input: ['x', 's'], output: ['y'] }] } }).finish());
      const cases: [string[], RegExp][] = [
        [['predict', image, ...model, '--scales', '0.75,1'], /^error: --scales 0\.75,1: must be scales that keep every network input side a multiple of 32/],
        [['predict', image, ...model, '--scales', '2,0.5'], /^error: --scales 2,0\.5: must be a list holding 1 when it has several scales/],
        [['predict', image, ...model, '--scales', '0.25'], /^error: --scales 0\.25: must be a list whose largest scale is at least 1 .*; for a smaller network input, give a smaller --input-size\n/],
        [['predict', image, ...model, '--input-size', '8192'], /^error: --input-size 8192: even a square image would need a 8192x8192 network input/],
        [['predict', image, ...model, '--max-people', '70000'], /^error: --max-people 70000: must be at most 65536, the heatmap positions of a square image at --input-size 256 /],
        [['predict', image, ...model, '--tag-threshold', '0'], /^error: --tag-threshold 0: must be a number > 0\n/],
        [['predict', image, ...model, '--calibrate', image], /^error: --calibrate is for calibrating an int8 model: add --precision int8, or leave it out/],
        [['predict', image, ...model, '--precision', 'int8'], /^error: --precision int8 needs --calibrate: a few images/],
        [['predict', image, ...model, '--tfjs-backend', 'wasm'], /^error: --tfjs-backend wasm picks a TensorFlow\.js backend: give --backend tfjs or --backend auto too\n/],
        [['predict', image, ...model, '--backend', 'tfjs', '--tfjs-backend', 'wasm', '--device', 'cuda'], /^error: --tfjs-backend wasm runs on the CPU: --device cuda on TensorFlow\.js is --tfjs-backend tensorflow /],
        [['predict', image, ...model, '--backend', 'tfjs', '--precision', 'int8', '--calibrate', image], /^error: --precision int8 runs on ONNX Runtime only: use --backend onnxruntime /],
        // Failed as the model loaded (exit 1).
        [['predict', image, ...model, '--backend', 'tfjs', '--device', 'webgpu'], /^error: --backend tfjs has no WebGPU backend in Node \(WebGL and WebGPU are for browsers: export-tfjs writes a model that they load\): --device webgpu runs on --backend onnxruntime\n/],
        [['video', join(dir, 'clip.mp4'), ...model, '--backend', 'auto', '--tfjs-backend', 'wasm', '--device', 'webgpu'], /^error: --tfjs-backend wasm would never run: --device webgpu runs on ONNX Runtime only \(TensorFlow\.js has no WebGPU backend in Node\); leave it out\n/],
        [['predict', image, ...model, '--device', 'webgpu', '--precision', 'int8', '--calibrate', image], /^error: --precision int8 is a CPU mode: on --device webgpu the quantized operators fall back to the CPU; use --precision fp32 there\n/],
        [['predict', image, ...model, '--threads', '5000'], /^error: --threads 5000: must be an integer from 1 to 1024\n/],
        [['predict', image, ...model, '--backend', 'tfjs', '--threads', '2'], /^error: --threads 2 sets how ONNX Runtime runs: leave it out with --backend tfjs, or use --backend onnxruntime or --backend auto\n/],
        [['predict', image, ...model, '--config', join(dir, 'missing.yaml')], /^error: give either --config .*missing\.yaml or --preset tiny_coco, not both\n/],
        [['predict', image, '--weights', join(dir, 'missing.pth')], /^error: no model configuration: give --preset \(e\.g\. coco_w32_512\) or --config /],
        // Once looked for as a file named '-': "no such file".
        [['predict', image, '--preset', 'tiny_coco', '--weights', '-'], /^error: --weights reads the model from a file, not stdin \('-'\): give its path \(a pipe's too: --weights <\(curl \.\.\.\)\)\n/],
        [['export-tfjs', '--preset', 'tiny_coco', '--weights', '-', '--out', join(dir, 'web')], /^error: --weights reads the model from a file, not stdin \('-'\)/],
        [['predict', image, '--config', '-', '--weights', join(dir, 'missing.pth')], /^error: option '--config <yaml>' argument '-' is invalid\. the configuration is read from a YAML file, not stdin \('-'\): give its path \(a pipe's too: --config <\(\.\.\.\)\)\n/],
        [['export-tfjs', '--config', '-', '--weights', join(dir, 'missing.pth'), '--out', join(dir, 'web')], /^error: option '--config <yaml>' argument '-' is invalid\. the configuration is read from a YAML file, not stdin/],
        // As the other commands say them, before the weights are read (missing here): once in the API's words, exit 1, after the weights.
        [['export-tfjs', '--config', 'tiny_coco', '--weights', join(dir, 'missing.pth'), '--out', join(dir, 'web')], /^error: --config tiny_coco names no file but a preset: give it as --preset tiny_coco\n/],
        [['export-tfjs', '--config', join(dir, 'missing.yaml'), '--preset', 'tiny_coco', '--weights', join(dir, 'missing.pth'), '--out', join(dir, 'web')], /^error: give either --config .*missing\.yaml or --preset tiny_coco, not both\n/],
        [['export-tfjs', '--weights', join(dir, 'missing.pth'), '--out', join(dir, 'web')], /^error: no model configuration: give --preset \(e\.g\. coco_w32_512\) or --config /],
        // Both read stdin: the weights took it all, then said the image's bytes were no checkpoint (or the image was empty).
        [['predict', '-', '--preset', 'tiny_coco', '--weights', '/dev/stdin'], /^error: the input '-' and --weights \/dev\/stdin both read stdin, which gives its bytes once: give the weights as a file \(a pipe of their own too: --weights <\(curl \.\.\.\)\)\n/],
        [['video', '-', '--preset', 'tiny_coco', '--weights', '/dev/fd/0'], /^error: the input '-' and --weights \/dev\/fd\/0 both read stdin/],
        [['predict', image, '-', '--config', '/proc/self/fd/0', '--weights', join(dir, 'missing.pth')], /^error: the input '-' and --config \/proc\/self\/fd\/0 both read stdin, which gives its bytes once: give the configuration as a file \(a pipe of its own too: --config <\(\.\.\.\)\)\n/],
        [['export-onnx', '--config', '/dev/stdin', '--weights', '/dev/stdin', '--out', join(dir, 'm.onnx')], /^error: --config \/dev\/stdin and --weights \/dev\/stdin both read stdin/],
        [['video', join(dir, 'clip.mp4'), ...model, '--no-flip', '--max-people', '70000'], /^error: --max-people 70000: must be at most 65536/],
        [['eval', '--annotations', join(dir, 'a.json'), '--images', dir, ...model, '--scales', '2,0.5'], /^error: --scales 2,0\.5: must be a list holding 1/],
        [['heatmaps', image, ...model, '--threads', '5000', '--out', join(dir, 'maps')], /^error: --threads 5000: must be an integer from 1 to 1024\n/],
        [['export-onnx', ...model.slice(0, 4), '--calibrate', image, '--out', join(dir, 'm.onnx')], /^error: --calibrate is for calibrating an int8 model/],
        [['export-onnx', ...model, '--precision', 'int8', '--calibrate', image, '--scales', '0.75,1', '--out', join(dir, 'm.onnx')], /^error: --scales 0\.75,1: must be scales/],
        // --weights would read a model under another name as a checkpoint.
        [['export-onnx', ...model.slice(0, 4), '--out', join(dir, 'model.int8')], /^error: --out .*model\.int8: name the model's file \.onnx \(an int8 one \.int8\.onnx, say\), as --weights takes it\n/],
        // An int8 model on WebGPU: refused once the model loaded (exit 1), in the API's words (device 'cpu').
        [['predict', image, '--preset', 'tiny_coco', '--weights', quantizedOnnx, '--device', 'webgpu'], /^error: --weights .*q\.int8\.onnx is quantized \(int8\), a CPU model: on --device webgpu the quantized operators fall back to the CPU; give its float model \(checkpoint or float \.onnx\) there, or use --device cpu\n/],
      ];
      for (const [args, message] of cases) {
        const { status, stderr } = await run(...args);
        expect(stderr, args.join(' ')).to.match(message);
        // The command line's words only: flags and their values, not the API's option names (calibrationImages, precision 'int8').
        expect(stderr, args.join(' ')).to.not.match(API_WORDS);
        expect(status, args.join(' ')).to.equal(2);
      }
      // A run that fails: a checkpoint whose contents cannot be read, a configuration file that is not there.
      const garbage = join(dir, 'garbage.pth');
      writeFileSync(garbage, 'not a checkpoint');
      const failures: [string[], RegExp][] = [
        [['predict', DEMO_IMAGE(), '--preset', 'tiny_coco', '--weights', garbage], /^higher-pose: CheckpointError: .*garbage\.pth/],
        [['predict', DEMO_IMAGE(), '--config', join(dir, 'missing.yaml'), '--weights', garbage], /^higher-pose: ConfigError: Cannot read configuration .*missing\.yaml/],
        [['predict', DEMO_IMAGE(), '--config', dir, '--weights', garbage], /^higher-pose: ConfigError: Cannot read configuration .*: a folder, not a YAML file\n$/],
        // The checkpoint and the configuration swapped: once a YAML parse error quoting the pickle's bytes.
        [['predict', DEMO_IMAGE(), '--config', TINY_COCO_CHECKPOINT(), '--weights', garbage], /^higher-pose: ConfigError: .*tiny_coco\.legacy\.pth: not a YAML text file: it is a Python pickle, as a PyTorch checkpoint is: give it as the weights \(--weights\), not as the configuration\n$/],
      ];
      for (const [args, message] of failures) {
        const { status, stderr } = await run(...args);
        expect(stderr, args.join(' ')).to.match(message);
        expect(status, args.join(' ')).to.equal(1);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--min-pose-score takes any number, as the API\'s minPoseScore: at 0 or below it keeps every person (scores are never negative)', async () => {
    const model = ['--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--input-size', '256'];
    const every = await run('predict', DEMO_IMAGE(), ...model);
    const belowZero = await run('predict', DEMO_IMAGE(), ...model, '--min-pose-score', '-0.5');
    expect(belowZero.status, belowZero.stderr).to.equal(0);
    expect(belowZero.stdout).to.equal(every.stdout);
    expect((JSON.parse(every.stdout) as { score: number }[]).every(({ score }) => score >= 0)).to.equal(true);
  });

  it('BAD CALL - --max-pixels bounds the images of predict, heatmaps, eval and video, from their header: an image over it fails as any bad image; a bound that is no positive integer is a usage error', async () => {
    for (const command of [['predict', 'a.jpg'], ['heatmaps', 'a.jpg', '--out', 'maps'], ['eval', '--annotations', 'a.json'], ['video', 'clip.mp4']]) {
      for (const bound of ['0', '1.5', 'abc']) {
        const { status, stderr } = await run(...command, '--max-pixels', bound);
        expect(stderr, `${command[0]} --max-pixels ${bound}`).to.match(new RegExp(`^error: option '--max-pixels <n>' argument '${bound}' is invalid\\. expected a positive integer, got ${bound}\\n`));
        expect(status).to.equal(2);
      }
      // Each help speaks of what its command reads: predict's and heatmaps' said 'images (video frames)'.
      const reads = command[0] === 'video' ? 'video frames' : 'images';
      expect((await run(command[0], '--help')).stdout.replace(/\s+/g, ' '), `${command[0]} --help`).to.include(`--max-pixels <n> refuse ${reads} of more pixels, from their header before decoding`);
    }
    const dir = mkdtempSync(join(tmpdir(), 'higher-pose-max-pixels-'));
    try {
      const model = ['--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--input-size', '256'];
      // The demo image is 640x480 (307200 pixels); its JPEG cut short still has its header, so the bound is told from it, not found undecodable.
      const bound = ['--max-pixels', String(640 * 480 - 1)];
      const cutShort = join(dir, 'cut.jpg');
      writeFileSync(cutShort, readFileSync(DEMO_IMAGE()).subarray(0, 4000));
      const under = join(dir, 'under.png');
      await sharp({ create: { width: 320, height: 240, channels: 3, background: '#808080' } }).png().toFile(under);
      const over = /: image is 640x480, over the limit of 307199 pixels\n/;
      const predicted = await run('predict', DEMO_IMAGE(), cutShort, under, ...model, ...bound);
      expect(predicted.stderr).to.match(/^1\/3 images, \d+ people\n/);
      expect(predicted.stderr).to.match(new RegExp(`failed: ImageError: ${DEMO_IMAGE()}${over.source}`)).and.match(new RegExp(`failed: ImageError: ${cutShort}${over.source}`));
      expect((JSON.parse(predicted.stdout) as { file_name: string }[]).every(({ file_name }) => file_name === under)).to.equal(true);
      expect(predicted.status).to.equal(1);
      const maps = join(dir, 'maps');
      const heatmaps = await run('heatmaps', cutShort, ...model, ...bound, '--out', maps);
      expect(heatmaps.stderr).to.match(new RegExp(`^higher-pose: ImageError: ${cutShort}${over.source}$`));
      expect(heatmaps.status).to.equal(1);
      expect(existsSync(maps), 'the --out folder').to.equal(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('predict --out - writes the results to stdout, as without --out, and no file named -', async () => {
    const model = ['--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--input-size', '256'];
    const plain = await run('predict', DEMO_IMAGE(), ...model);
    const dash = await run('predict', DEMO_IMAGE(), ...model, '--out', '-');
    const left = existsSync('-');
    rmSync('-', { force: true });
    expect(dash.status, dash.stderr).to.equal(0);
    expect(dash.stdout).to.equal(plain.stdout);
    expect(left, 'a file named -').to.equal(false);
  });

  it('predict of a folder of images named as a video (frames.mp4/, a video\'s frames) estimates its images, as any folder\'s', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'higher-pose-frames-'));
    try {
      const frames = join(dir, 'frames.mp4');
      mkdirSync(frames);
      copyFileSync(DEMO_IMAGE(), join(frames, 'frame1.jpg'));
      const model = ['--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--input-size', '256'];
      // It was refused as a video given to predict (exit 2), by its name alone.
      const { status, stdout, stderr } = await run('predict', frames, ...model);
      expect(status, stderr).to.equal(0);
      expect(stdout).to.equal((await run('predict', join(frames, 'frame1.jpg'), ...model)).stdout);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('video --out - writes the JSON lines to stdout, as without --out, and no file named -', async function () {
    const dir = mkdtempSync(join(tmpdir(), 'higher-pose-video-dash-'));
    try {
      const clip = join(dir, 'clip.mp4');
      if (spawnSync('ffmpeg', ['-v', 'error', '-loop', '1', '-i', DEMO_IMAGE(), '-frames:v', '1', '-vf', 'scale=160:120', '-pix_fmt', 'yuv420p', clip]).status !== 0) this.skip(); // no ffmpeg
      const model = ['--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--input-size', '256'];
      const plain = await run('video', clip, ...model);
      // Was 'VideoError: --out must be a file path, got an empty string' (commander stores a parser's undefined as '').
      const dash = await run('video', clip, ...model, '--out', '-');
      expect(dash.status, dash.stderr).to.equal(0);
      expect(dash.stdout).to.equal(plain.stdout).and.match(/^\{"frame":0,/);
      expect(existsSync('-'), 'a file named -').to.equal(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('help exits with 0; a run that fails exits with 1', async () => {
    expect((await run('--help')).status).to.equal(0);
    expect((await run('eval', '--help')).status).to.equal(0);
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) expect(await run(flag), flag).to.deep.equal({ status: 0, stdout: `${version}\n`, stderr: '' });
    const missing = await run('eval', '--annotations', 'no-such-file.json', '--results', 'r.json');
    expect(missing.status).to.equal(1);
    expect(missing.stderr).to.match(/Cannot read annotation file no-such-file\.json/);
  });

  it("BAD CALL - a run that fails is reported as 'higher-pose: ErrorClass: message' (exit 1) by every command, eval and weights fetch too", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'higher-pose-failures-'));
    try {
      const model = ['--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--input-size', '256'];
      const notAnnotations = join(dir, 'not-annotations.json');
      writeFileSync(notAnnotations, '{}');
      const folder = join(dir, 'folder');
      mkdirSync(folder);
      const garbage = join(dir, 'garbage.pth');
      writeFileSync(garbage, 'not a checkpoint');
      // eval's and weights fetch's were commander's `error: message`, which the other commands keep for mistakes in what was typed (exit 2).
      const failures: [string[], RegExp][] = [
        [['eval', '--annotations', notAnnotations, '--results', join(dir, 'r.json')], /^higher-pose: EvalError: .*not-annotations\.json: annotations must be an array/],
        [['eval', '--annotations', notAnnotations, '--images', dir, ...model, '--out', join(dir, 'r.json')], /^higher-pose: EvalError: .*not-annotations\.json: annotations must be an array/],
        [['eval', '--annotations', notAnnotations, '--images', dir, ...model, '--out', folder], /^higher-pose: ConfigError: --out .*folder: is a folder/],
        [['weights', 'fetch', 'crowdpose_w48_640', '--cache-dir', dir], /^higher-pose: ZooError: .*pose_higher_hrnet_w48_640_crowdpose\.pth\.tar/],
        [['predict', DEMO_IMAGE(), ...model, '--out', folder], /^higher-pose: ConfigError: --out .*folder: is a folder/],
        [['heatmaps', DEMO_IMAGE(), '--preset', 'tiny_coco', '--weights', garbage, '--out', join(dir, 'maps')], /^higher-pose: CheckpointError: .*garbage\.pth/],
        [['export-tfjs', '--preset', 'tiny_coco', '--weights', garbage, '--out', join(dir, 'web')], /^higher-pose: CheckpointError: .*garbage\.pth/],
      ];
      for (const [args, message] of failures) {
        const { status, stderr } = await run(...args);
        expect(stderr, args.join(' ')).to.match(message).and.not.match(/^error: /m);
        expect(status, args.join(' ')).to.equal(1);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The arguments of node that run the CLI from its sources, the command line's arguments after them. */

/**
 * The CLI with `file` piped into its stdin by the shell: a pipe, which gives its text once (node's
 * own stdin pipes are sockets, which /dev/stdin cannot open). Killed after a minute (SIGKILL: tsx catches SIGTERM): a second read would wait for a writer.
 */
function cliWithPipedStdin(file: string, args: string[]): { status: number | null; stderr: string; stdout: string } {
  // exec: the CLI is the process the time limit kills, not a shell that would leave it running.
  const run = spawnSync('bash', ['-c', 'exec "$@" < <(cat "$0")', file, process.execPath, ...CLI_PROCESS, ...args], { encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' });
  return { status: run.status, stderr: run.stderr, stdout: run.stdout };
}

/** The CLI in a process of its own, with `stdout` as its standard output; its exit status and stderr. */
function spawnCli(args: string[], stdout: 'pipe' | number, onStart: (child: ReturnType<typeof spawn>) => void = () => {}, stdin?: Uint8Array): Promise<{ status: number | null; stderr: string; stdout: string }> {
  const child = spawn(process.execPath, [...CLI_PROCESS, ...args], { stdio: [stdin ? 'pipe' : 'ignore', stdout, 'pipe'] });
  child.stdin?.end(stdin);
  onStart(child);
  let stderr = '';
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stderr, stdout: output })));
}

describe('higher-pose in pipelines', function () {
  this.timeout(60_000);
  const model = ['--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--input-size', '256'];

  it('predict into a reader that has gone (| head -1) ends quietly, with the run\'s status', async () => {
    // The read end closed before the results come: their write fails with EPIPE.
    const { status, stderr } = await spawnCli(['predict', DEMO_IMAGE(), ...model], 'pipe', (child) => child.stdout!.destroy());
    expect(stderr).to.not.match(/EPIPE|Error|\n\s+at /);
    expect(stderr).to.match(/^1\/1 images, \d+ people\n$/);
    expect(status).to.equal(0);
  });

  it('predict into a reader that has gone stops estimating when the results were all it made; with --render it draws every image', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'higher-pose-gone-'));
    try {
      const images = join(dir, 'images');
      mkdirSync(images);
      const count = 6;
      for (let i = 0; i < count; i++) copyFileSync(DEMO_IMAGE(), join(images, `${i}.jpg`));
      const gone = await spawnCli(['predict', images, ...model], 'pipe', (child) => child.stdout!.destroy());
      expect(gone.stderr).to.not.match(/EPIPE|Error|\n\s+at /);
      const [, estimated, stoppedAfter] = /^(\d+)\/6 images, \d+ people; stopped after (\d+): the reader of stdout closed it\n$/.exec(gone.stderr) ?? [];
      expect(Number(stoppedAfter), gone.stderr).to.be.within(1, count - 1).and.equal(Number(estimated));
      expect(gone.status).to.equal(0);
      // The drawings still matter: every image is estimated and drawn.
      const drawn = join(dir, 'drawn');
      const rendering = await spawnCli(['predict', images, ...model, '--render', drawn], 'pipe', (child) => child.stdout!.destroy());
      expect(rendering.stderr).to.match(/^6\/6 images, \d+ people, drawings in .*drawn\n$/);
      expect(readdirSync(drawn)).to.have.length(count);
      expect(rendering.status).to.equal(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('predict, heatmaps and export-onnx read --config once: a configuration piped in (/dev/stdin, <(...)) runs as the preset it describes', async () => {
    // The tiny_coco preset, as an experiment file (the other fields take the reference's defaults).
    const tinyCoco = `MODEL: {NAME: pose_higher_hrnet, NUM_JOINTS: 17, TAG_PER_JOINT: true, EXTRA: {FINAL_CONV_KERNEL: 1,
  STAGE2: {NUM_MODULES: 1, NUM_BRANCHES: 2, BLOCK: BASIC, NUM_BLOCKS: [1, 1], NUM_CHANNELS: [8, 16], FUSE_METHOD: SUM},
  STAGE3: {NUM_MODULES: 2, NUM_BRANCHES: 3, BLOCK: BASIC, NUM_BLOCKS: [1, 1, 2], NUM_CHANNELS: [8, 16, 32], FUSE_METHOD: SUM},
  STAGE4: {NUM_MODULES: 2, NUM_BRANCHES: 4, BLOCK: BASIC, NUM_BLOCKS: [2, 1, 1, 1], NUM_CHANNELS: [8, 16, 32, 64], FUSE_METHOD: SUM},
  DECONV: {NUM_DECONVS: 1, NUM_CHANNELS: [8], KERNEL_SIZE: [4], NUM_BASIC_BLOCKS: 2, CAT_OUTPUT: [true]}}}
LOSS: {WITH_AE_LOSS: [true, false]}
DATASET: {DATASET: coco_kpt, NUM_JOINTS: 17, INPUT_SIZE: 512, MAX_NUM_PEOPLE: 30}
TEST: {FLIP_TEST: true, SCALE_FACTOR: [1], ADJUST: true, REFINE: true, PROJECT2IMAGE: true, DETECTION_THRESHOLD: 0.1, TAG_THRESHOLD: 1.0,
  NMS_KERNEL: 5, NMS_PADDING: 2, WITH_HEATMAPS: [true, true], WITH_AE: [true, false]}
`;
    const dir = mkdtempSync(join(tmpdir(), 'higher-pose-piped-config-'));
    try {
      const yaml = join(dir, 'tiny_coco.yaml');
      writeFileSync(yaml, tinyCoco);
      const piped = ['--config', '/dev/stdin', ...model.slice(2)];
      const fromPipe = cliWithPipedStdin(yaml, ['predict', DEMO_IMAGE(), ...piped]);
      expect(fromPipe.status, fromPipe.stderr).to.equal(0);
      const fromPreset = await run('predict', DEMO_IMAGE(), ...model);
      expect(fromPipe.stdout).to.equal(fromPreset.stdout).and.match(/^\[\{/);
      const maps = cliWithPipedStdin(yaml, ['heatmaps', DEMO_IMAGE(), ...piped, '--out', join(dir, 'maps')]);
      expect(maps.status, maps.stderr).to.equal(0);
      expect(existsSync(join(dir, 'maps', 'output_0.npy'))).to.equal(true);
      const exported = cliWithPipedStdin(yaml, ['export-onnx', '--config', '/dev/stdin', '--weights', TINY_COCO_CHECKPOINT(), '--out', join(dir, 'm.onnx')]);
      expect(exported.status, exported.stderr).to.equal(0);
      expect(existsSync(join(dir, 'm.onnx'))).to.equal(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  /** COCO annotations of one person in the demo image, for eval runs over its folder. */
  function demoAnnotations(): string {
    const keypoints = Array.from({ length: 17 }, (_, j) => [100 + 5 * j, 100 + 10 * j, 2]).flat();
    return JSON.stringify({
      images: [{ id: 1, file_name: basename(DEMO_IMAGE()) }],
      categories: [{ id: 1, name: 'person' }],
      annotations: [{ id: 1, image_id: 1, category_id: 1, iscrowd: 0, num_keypoints: 17, area: 10000, bbox: [100, 100, 80, 170], keypoints }],
    });
  }

  it('eval reads --annotations once: annotations piped in (<(zcat ...)) are run and scored as from their file', async function () {
    if (process.platform === 'win32') this.skip();
    const dir = mkdtempSync(join(tmpdir(), 'higher-pose-piped-annotations-'));
    try {
      const annotations = demoAnnotations();
      const file = join(dir, 'annotations.json');
      writeFileSync(file, annotations);
      const evalArgs = (path: string, out: string) => ['eval', '--images', dirname(DEMO_IMAGE()), '--annotations', path, ...model, '--out', join(dir, out)];
      const fromFile = await run(...evalArgs(file, 'from-file.json'));
      expect(fromFile.status, fromFile.stderr).to.equal(0);
      const fifo = join(dir, 'annotations.fifo');
      let fromPipe: Awaited<ReturnType<typeof run>> | undefined;
      // Read twice, a pipe gave nothing the second time: 'annotation file is not valid JSON (Unexpected end of JSON input)'.
      await withPipedOnce(fifo, annotations, async () => void (fromPipe = await run(...evalArgs(fifo, 'from-pipe.json'))));
      expect(fromPipe!.status, fromPipe!.stderr).to.equal(0);
      expect(fromPipe!.stdout).to.equal(fromFile.stdout);
      expect(readFileSync(join(dir, 'from-pipe.json'), 'utf8')).to.equal(readFileSync(join(dir, 'from-file.json'), 'utf8'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  /** The demo's annotations and one result for its image, written into `dir`, with the table eval prints for them. */
  function oneResultEval(dir: string): { annotations: string; results: string; table: string } {
    const annotations = join(dir, 'annotations.json');
    writeFileSync(annotations, demoAnnotations());
    const keypoints = Array.from({ length: 17 }, (_, j) => [102 + 5 * j, 99 + 10 * j, 0.9]).flat();
    const results = join(dir, 'results.jsonl');
    writeFileSync(results, `${JSON.stringify({ image_id: 1, category_id: 1, keypoints, score: 0.8 })}\n`);
    return { annotations, results, table: `${formatStatsTable(evaluateResultsFile(results, annotations))}\n` };
  }

  it("eval --results - and --annotations - read stdin (predict --format jsonl | higher-pose eval --results - ...), as their other names do", function () {
    if (process.platform === 'win32') this.skip();
    const dir = mkdtempSync(join(tmpdir(), 'higher-pose-dash-results-'));
    try {
      const { annotations, results, table } = oneResultEval(dir);
      // Was 'higher-pose: EvalError: Cannot read results file -: ENOENT: no such file or directory, open '-''.
      const resultsPiped = cliWithPipedStdin(results, ['eval', '--results', '-', '--annotations', annotations]);
      expect(resultsPiped.status, resultsPiped.stderr).to.equal(0);
      expect(resultsPiped.stdout).to.equal(table);
      const annotationsPiped = cliWithPipedStdin(annotations, ['eval', '--results', results, '--annotations', '-']);
      expect(annotationsPiped.status, annotationsPiped.stderr).to.equal(0);
      expect(annotationsPiped.stdout).to.equal(table);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("eval --results - and --annotations - read a stdin that is a socket, as a Node parent's stdio 'pipe' gives (was ENXIO: /dev/stdin cannot be opened)", async function () {
    if (process.platform === 'win32') this.skip();
    const dir = mkdtempSync(join(tmpdir(), 'higher-pose-socket-stdin-'));
    let child: ReturnType<typeof spawn> | undefined;
    try {
      const { annotations, results, table } = oneResultEval(dir);
      const resultsPiped = await spawnCli(['eval', '--results', '-', '--annotations', annotations], 'pipe', (c) => (child = c), readFileSync(results));
      expect(resultsPiped.status, resultsPiped.stderr).to.equal(0);
      expect(resultsPiped.stdout).to.equal(table);
      const annotationsPiped = await spawnCli(['eval', '--results', results, '--annotations', '-'], 'pipe', (c) => (child = c), readFileSync(annotations));
      expect(annotationsPiped.status, annotationsPiped.stderr).to.equal(0);
      expect(annotationsPiped.stdout).to.equal(table);
    } finally {
      child?.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('eval --weights an .onnx model keeping its weights in a file beside it runs it from its path, as predict does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'higher-pose-external-data-'));
    try {
      // As onnx.save(..., save_as_external_data=True) writes it: the first weight in model.onnx.data.
      const external = onnx.ModelProto.decode(compileModel(presetConfig('tiny_coco'), TINY_COCO_CHECKPOINT()));
      const weight = external.graph!.initializer![0]!;
      writeFileSync(join(dir, 'model.onnx.data'), weight.rawData!);
      const entries = { location: 'model.onnx.data', offset: '0', length: String(weight.rawData!.byteLength) };
      Object.assign(weight, { rawData: new Uint8Array(0), dataLocation: onnx.TensorProto.DataLocation.EXTERNAL, externalData: Object.entries(entries).map(([key, value]) => ({ key, value })) });
      const weights = join(dir, 'model.onnx');
      writeFileSync(weights, onnx.ModelProto.encode(external).finish());
      writeFileSync(join(dir, 'annotations.json'), demoAnnotations());
      const onnxModel = ['--preset', 'tiny_coco', '--weights', weights, '--input-size', '256'];
      const predicted = await run('predict', DEMO_IMAGE(), ...onnxModel, '--out', join(dir, 'predicted.json'));
      expect(predicted.status, predicted.stderr).to.equal(0);
      // Read by eval and given as bytes, it was 'the model keeps its weights in external data files ...: give the file's path, not its bytes (a pipe)'.
      const evaluated = await run('eval', '--images', dirname(DEMO_IMAGE()), '--annotations', join(dir, 'annotations.json'), ...onnxModel, '--out', join(dir, 'results.json'));
      expect(evaluated.status, evaluated.stderr).to.equal(0);
      expect(evaluated.stdout).to.match(/\bAP\b/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('export-onnx --out /dev/stdout writes the model alone to stdout, its summary to stderr', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'higher-pose-export-stdout-'));
    try {
      const exportArgs = ['export-onnx', '--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT()];
      const toFile = spawnSync(process.execPath, [...CLI_PROCESS, ...exportArgs, '--out', join(dir, 'm.onnx')], { timeout: 60_000, killSignal: 'SIGKILL' });
      expect(toFile.status, toFile.stderr.toString()).to.equal(0);
      // Through a shell's pipe: /dev/stdout cannot be opened on the socket Node would give it.
      const toStdout = spawnSync('sh', ['-c', '"$@" | cat', 'sh', process.execPath, ...CLI_PROCESS, ...exportArgs, '--out', '/dev/stdout'], { timeout: 60_000, maxBuffer: 2 ** 26 });
      expect(toStdout.status, toStdout.stderr.toString()).to.equal(0);
      // The summary line once followed the model's bytes on stdout, which no ONNX reader takes.
      expect(Buffer.compare(toStdout.stdout, readFileSync(join(dir, 'm.onnx')))).to.equal(0);
      expect(toStdout.stderr.toString()).to.match(/^wrote \/dev\/stdout \(/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("predict - estimates the image piped into stdin, as from its file, and draws it as stdin.png", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'higher-pose-stdin-'));
    try {
      const piped = await spawnCli(['predict', '-', ...model, '--render', dir], 'pipe', undefined, readFileSync(DEMO_IMAGE()));
      expect(piped.status, piped.stderr).to.equal(0);
      const fromFile = await spawnCli(['predict', DEMO_IMAGE(), ...model], 'pipe');
      const people = (out: string) => (JSON.parse(out) as { keypoints: number[]; score: number }[]).map(({ keypoints, score }) => ({ keypoints, score }));
      expect(people(piped.stdout)).to.deep.equal(people(fromFile.stdout)).and.to.have.length.above(0);
      expect((JSON.parse(piped.stdout) as { file_name: string }[])[0]!.file_name).to.equal('-');
      expect(existsSync(join(dir, 'stdin.png'))).to.equal(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('BAD CALL - predict - of a piped image that fails names it once, as stdin, whether or not the error names it', async () => {
    const tiny = await sharp({ create: { width: 3, height: 3, channels: 3, background: 'red' } }).png().toBuffer();
    const cases: [Uint8Array, string][] = [
      // Was '-: ImageError: stdin: ...'; 'zero-size' held a '-' and was shown as it is.
      [readFileSync(DEMO_IMAGE()).subarray(0, 2000), '  failed: ImageError: stdin: corrupt image data (VipsJpeg: premature end of JPEG image)'],
      [new Uint8Array(), '  failed: ImageError: stdin: zero-size image data'],
      // The estimator's error names no image: the line does.
      [tiny, '  failed: stdin: PreprocessError: image 3x3 is too small for the network (at least 4x4 pixels)'],
    ];
    for (const [bytes, line] of cases) {
      const piped = await spawnCli(['predict', '-', ...model], 'pipe', undefined, bytes);
      expect(piped.stderr.split('\n')[0]).to.equal(line);
      expect(piped.status).to.equal(1);
    }
  });

  it("predict /dev/stdin /dev/fd/0 - names the one image piped into stdin thrice: it is read once, as '-', and estimated once", async function () {
    if (process.platform === 'win32') this.skip();
    // Each was read by its path, which a pipe is no regular file for: 'ImageError: /dev/stdin: not a regular file', exit 1.
    const names = ['/dev/stdin', '/dev/fd/0', '-', ...(process.platform === 'linux' ? ['/proc/self/fd/0'] : [])];
    const piped = cliWithPipedStdin(DEMO_IMAGE(), ['predict', ...names, ...model]);
    expect(piped.status, piped.stderr).to.equal(0);
    expect(piped.stderr).to.match(/^1\/1 images, \d+ people\n$/);
    const fromFile = await run('predict', DEMO_IMAGE(), ...model);
    const people = (out: string) => (JSON.parse(out) as { keypoints: number[]; score: number }[]).map(({ keypoints, score }) => ({ keypoints, score }));
    expect(people(piped.stdout)).to.deep.equal(people(fromFile.stdout)).and.to.have.length.above(0);
    expect(new Set((JSON.parse(piped.stdout) as { file_name: string }[]).map((record) => record.file_name))).to.deep.equal(new Set(['-']));
  });

  it("video /dev/stdin and heatmaps /dev/fd/0 take stdin as their '-' does: video reads the piped stream, heatmaps refuses it as a usage error", async function () {
    if (process.platform === 'win32') this.skip();
    const dir = mkdtempSync(join(tmpdir(), 'higher-pose-stdin-names-'));
    try {
      // Was 'VideoError: /dev/stdin: not a regular file; read a pipe ... as a stream (input '-' ...)', once the model had loaded.
      const clip = join(dir, 'clip.ts');
      if (spawnSync('ffmpeg', ['-v', 'error', '-loop', '1', '-i', DEMO_IMAGE(), '-frames:v', '1', '-vf', 'scale=160:120', '-pix_fmt', 'yuv420p', '-f', 'mpegts', clip]).status === 0) {
        const piped = cliWithPipedStdin(clip, ['video', '/dev/stdin', ...model]);
        expect(piped.status, piped.stderr).to.equal(0);
        const fromFile = await run('video', clip, ...model);
        expect(piped.stdout).to.equal(fromFile.stdout).and.match(/^\{"frame":0,/);
      }
      // Was 'ImageError: /dev/stdin: not a regular file' (exit 1), once the weights were read.
      const maps = join(dir, 'maps');
      const heatmaps = cliWithPipedStdin(DEMO_IMAGE(), ['heatmaps', '/dev/fd/0', ...model, '--out', maps]);
      expect(heatmaps.stderr).to.match(/^error: heatmaps reads its image from a file, not stdin \('-'\): save the image and give its path\n/);
      expect(heatmaps.status).to.equal(2);
      expect(existsSync(maps)).to.equal(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('BAD CALL - output that cannot be written (> /dev/full) is an error in one line and exit status 1, for predict and help alike', async function () {
    if (!existsSync('/dev/full')) this.skip();
    const full = openSync('/dev/full', 'w');
    const dir = mkdtempSync(join(tmpdir(), 'higher-pose-full-'));
    try {
      const runs = [['predict', DEMO_IMAGE(), ...model], ['predict', '--help']];
      // video writes its lines with checks of its own, and throws the failure too: still said once.
      const clip = join(dir, 'clip.mp4');
      if (spawnSync('ffmpeg', ['-v', 'error', '-loop', '1', '-i', DEMO_IMAGE(), '-frames:v', '2', '-vf', 'scale=160:120', '-pix_fmt', 'yuv420p', clip]).status === 0) runs.push(['video', clip, ...model]);
      for (const args of runs) {
        const { status, stderr } = await spawnCli(args, full);
        expect(stderr, args.join(' ')).to.match(/^higher-pose: cannot write to stdout: ENOSPC: no space left on device/m);
        expect(stderr.match(/ENOSPC/g), args.join(' ')).to.have.length(1);
        expect(stderr, args.join(' ')).to.not.match(/\n\s+at /);
        expect(status, args.join(' ')).to.equal(1);
      }
    } finally {
      closeSync(full);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('higher-pose --weights piped (<(...), /dev/stdin)', function () {
  this.timeout(120_000);
  if (process.platform === 'win32') return;
  const model = ['--preset', 'tiny_coco', '--input-size', '256'];
  let dir: string;
  let onnxModel: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'higher-pose-piped-weights-'));
    onnxModel = join(dir, 'tiny.onnx');
    const exported = await run('export-onnx', '--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--out', onnxModel);
    expect(exported.status, exported.stderr).to.equal(0);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** The CLI run on `args` while `content` is piped into the FIFO `fifo`, which one of them names. */
  async function runPiped(fifo: string, content: Uint8Array, args: string[]): Promise<Awaited<ReturnType<typeof run>>> {
    let result: Awaited<ReturnType<typeof run>> | undefined;
    await withPipedOnce(fifo, content, async () => void (result = await run(...args)));
    return result!;
  }

  it('every command that takes --weights runs a piped .onnx export, and a piped checkpoint, as it runs their files', async () => {
    const fifo = join(dir, 'weights.fifo');
    const piped = (file: string, args: string[]) => runPiped(fifo, readFileSync(file), args);
    for (const weights of [onnxModel, TINY_COCO_CHECKPOINT()]) {
      const fromFile = await run('predict', DEMO_IMAGE(), ...model, '--weights', weights);
      const fromPipe = await piped(weights, ['predict', DEMO_IMAGE(), ...model, '--weights', fifo]);
      expect(fromPipe.status, fromPipe.stderr).to.equal(0);
      expect(fromPipe.stdout, weights).to.equal(fromFile.stdout).and.match(/^\[\{/);
    }
    const maps = await piped(onnxModel, ['heatmaps', DEMO_IMAGE(), ...model, '--weights', fifo, '--out', join(dir, 'maps')]);
    expect(maps.status, maps.stderr).to.equal(0);
    expect(existsSync(join(dir, 'maps', 'output_1.npy'))).to.equal(true);
    // A float export given again is written as it is.
    const reexported = await piped(onnxModel, ['export-onnx', '--preset', 'tiny_coco', '--weights', fifo, '--out', join(dir, 'again.onnx')]);
    expect(reexported.status, reexported.stderr).to.equal(0);
    expect(Buffer.compare(readFileSync(join(dir, 'again.onnx')), readFileSync(onnxModel))).to.equal(0);
    const tfjs = await piped(TINY_COCO_CHECKPOINT(), ['export-tfjs', '--preset', 'tiny_coco', '--weights', fifo, '--out', join(dir, 'web')]);
    expect(tfjs.status, tfjs.stderr).to.equal(0);
    expect(existsSync(join(dir, 'web', 'model.json'))).to.equal(true);
    const notCheckpoint = await piped(onnxModel, ['export-tfjs', '--preset', 'tiny_coco', '--weights', fifo, '--out', join(dir, 'web2')]);
    expect(notCheckpoint.stderr).to.contain(`export-tfjs compiles a PyTorch checkpoint, not an ONNX model: ${fifo}`);
    const annotations = join(dir, 'annotations.json');
    const keypoints = Array.from({ length: 17 }, (_, j) => [100 + 5 * j, 100 + 10 * j, 2]).flat();
    writeFileSync(annotations, JSON.stringify({
      images: [{ id: 1, file_name: basename(DEMO_IMAGE()) }],
      categories: [{ id: 1, name: 'person' }],
      annotations: [{ id: 1, image_id: 1, category_id: 1, iscrowd: 0, num_keypoints: 17, area: 10000, bbox: [100, 100, 80, 170], keypoints }],
    }));
    const evaluated = await piped(onnxModel, ['eval', '--images', dirname(DEMO_IMAGE()), '--annotations', annotations, ...model, '--weights', fifo, '--out', join(dir, 'results.json')]);
    expect(evaluated.status, evaluated.stderr).to.equal(0);
    expect(existsSync(join(dir, 'results.json'))).to.equal(true);
    const clip = join(dir, 'clip.mp4');
    if (spawnSync('ffmpeg', ['-v', 'error', '-loop', '1', '-i', DEMO_IMAGE(), '-frames:v', '1', '-vf', 'scale=160:120', '-pix_fmt', 'yuv420p', clip]).status === 0) {
      const video = await piped(onnxModel, ['video', clip, ...model, '--weights', fifo]);
      expect(video.status, video.stderr).to.equal(0);
      expect(video.stdout).to.match(/^\{"frame":0,/);
    }
  });

  it('BAD CALL - --weights naming a device (/dev/zero, or /dev/stdin on a terminal) is refused at once, not read forever', async () => {
    const zero = await run('predict', DEMO_IMAGE(), ...model, '--weights', '/dev/zero');
    expect(zero.stderr).to.equal('higher-pose: ConfigError: --weights /dev/zero: cannot read it: is a character device (such as /dev/zero or a terminal), not a file or a pipe\n');
    expect(zero.status).to.equal(1);
  });

  it('BAD CALL - piped weights that cannot run are refused naming the pipe; an int8 export is told from its bytes, before the model loads', async () => {
    const fifo = join(dir, 'bad.fifo');
    const int8Model = join(dir, 'tiny.int8.onnx');
    const quantized = await run('export-onnx', '--preset', 'tiny_coco', '--weights', onnxModel, '--precision', 'int8', '--calibrate', DEMO_IMAGE(), '--input-size', '256', '--out', int8Model);
    expect(quantized.status, quantized.stderr).to.equal(0);
    const piped = (content: Uint8Array, ...args: string[]) => runPiped(fifo, content, ['predict', DEMO_IMAGE(), ...model, '--weights', fifo, ...args]);
    const junk = await piped(Buffer.from('<!DOCTYPE html><html>'));
    expect(junk.stderr).to.contain(`CheckpointError: ${fifo}: not a PyTorch checkpoint but an HTML page`);
    expect(junk.status).to.equal(1);
    const truncated = await piped(readFileSync(TINY_COCO_CHECKPOINT()).subarray(0, 100_000));
    expect(truncated.stderr).to.contain(`CheckpointError: ${fifo}: pickle is truncated`);
    // Not "an ONNX model, which runs from a file named .onnx (or from its bytes): rename it".
    const cutShort = await piped(readFileSync(onnxModel).subarray(0, 100_000));
    expect(cutShort.stderr).to.contain(`BackendError: ${fifo}: not a valid ONNX model (it starts as one but does not parse: cut short or damaged)`);
    // Refused from the bytes read for the check, which the run would have been given.
    const onWebgpu = await piped(readFileSync(int8Model), '--device', 'webgpu');
    expect(onWebgpu.stderr).to.contain(`error: --weights ${fifo} is quantized (int8), a CPU model: on --device webgpu`);
    expect(onWebgpu.status).to.equal(USAGE_STATUS);
    // Already quantized: no calibration images needed, as for its file.
    const int8 = await piped(readFileSync(int8Model), '--precision', 'int8');
    expect(int8.status, int8.stderr).to.equal(0);
    expect(int8.stdout).to.match(/^\[\{/);
  });
});

describe('output folders of a run that fails', function () {
  this.timeout(120_000);
  const tiny = ['--preset', 'tiny_coco', '--input-size', '256'];
  let dir: string;
  let corruptWeights: string;
  let corruptImage: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'higher-pose-folders-'));
    corruptWeights = join(dir, 'corrupt.pth');
    corruptImage = join(dir, 'corrupt.jpg');
    writeFileSync(corruptWeights, 'not a checkpoint');
    writeFileSync(corruptImage, 'not an image');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('BAD CALL - predict --render and --out, heatmaps --out, demo --out and eval --out that fail leave none of the folders they made (nor their parents)', async () => {
    // An annotated image missing from its folder.
    const annotations = join(dir, 'annotations.json');
    writeFileSync(annotations, JSON.stringify({ images: [{ id: 1, file_name: 'missing.jpg', width: 640, height: 480 }], annotations: [], categories: [{ id: 1, name: 'person' }] }));
    mkdirSync(join(dir, 'images'));
    const cases: [string, string[]][] = [
      ['predict --render', ['predict', DEMO_IMAGE(), ...tiny, '--weights', corruptWeights, '--render', join(dir, 'new', 'drawn')]],
      // Made by the results file, which is discarded when every image fails.
      ['predict --out', ['predict', corruptImage, ...tiny, '--weights', TINY_COCO_CHECKPOINT(), '--out', join(dir, 'new', 'results.json')]],
      ['heatmaps --out', ['heatmaps', DEMO_IMAGE(), ...tiny, '--weights', corruptWeights, '--out', join(dir, 'new', 'maps')]],
      ['demo --out', ['demo', '--image', corruptImage, '--out', join(dir, 'new', 'demo')]],
      // Made by the journal, which is removed when no image could be read.
      ['eval --out', ['eval', '--images', join(dir, 'images'), '--annotations', annotations, ...tiny, '--weights', TINY_COCO_CHECKPOINT(), '--out', join(dir, 'new', 'results.json')]],
    ];
    for (const [what, args] of cases) {
      const { status, stderr } = await run(...args);
      expect(status, `${what}: ${stderr}`).to.equal(1);
      expect(readdirSync(dir).sort(), what).to.deep.equal(['annotations.json', 'corrupt.jpg', 'corrupt.pth', 'images']);
    }
  });

  it('BAD CALL - a folder that was there before the failed run is kept, and so is one that holds what the run wrote before it failed', async () => {
    const existing = join(dir, 'existing');
    mkdirSync(existing);
    const before = await run('heatmaps', DEMO_IMAGE(), ...tiny, '--weights', corruptWeights, '--out', existing);
    expect(before.status, before.stderr).to.equal(1);
    expect(readdirSync(existing)).to.deep.equal([]);
    // One image drawn, the other failing: exit 1, the drawing kept in the folder made for it.
    const drawn = join(dir, 'new', 'drawn');
    const partly = await run('predict', DEMO_IMAGE(), corruptImage, ...tiny, '--weights', TINY_COCO_CHECKPOINT(), '--no-flip', '--render', drawn);
    expect(partly.status, partly.stderr).to.equal(1);
    expect(readdirSync(drawn)).to.deep.equal([basename(DEMO_IMAGE()).replace(/\.jpg$/, '.png')]);
  });

  it('BAD CALL - a run that succeeds after one that failed in the same process (main called twice) keeps the folders it made', async () => {
    const annotations = join(dir, 'annotations.json');
    writeFileSync(annotations, JSON.stringify({ images: [{ id: 1, file_name: basename(DEMO_IMAGE()), width: 640, height: 480 }], annotations: [], categories: [{ id: 1, name: 'person' }] }));
    // Left empty by the run that succeeds: its journal is removed once the results are written.
    const journals = join(dir, 'journals');
    const saved = process.exitCode;
    const error = console.error;
    const { write: writeOut } = process.stdout;
    const { write: writeErr } = process.stderr;
    console.error = () => {};
    process.stdout.write = (() => true) as typeof process.stdout.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      process.exitCode = undefined;
      await main(['node', 'higher-pose', 'predict', corruptImage, ...tiny, '--weights', TINY_COCO_CHECKPOINT()]);
      expect(process.exitCode).to.equal(1);
      await main(['node', 'higher-pose', 'eval', '--images', dirname(DEMO_IMAGE()), '--annotations', annotations, ...tiny, '--weights', TINY_COCO_CHECKPOINT(), '--no-flip',
        '--out', join(dir, 'results.json'), '--journal', join(journals, 'run.journal')]);
      // The process keeps the earlier failure's status; the run that succeeded is judged by its own (its folder was removed as a failed run's).
      expect(process.exitCode).to.equal(1);
      expect(readdirSync(dir).sort()).to.deep.equal(['annotations.json', 'corrupt.jpg', 'corrupt.pth', 'journals', 'results.json']);
    } finally {
      console.error = error;
      process.stdout.write = writeOut;
      process.stderr.write = writeErr;
      process.exitCode = saved;
    }
  });

  it('BAD CALL - predict --render whose new folder another run removes as it loads (that run failed, the folder empty): the folder is made again for the drawings', async () => {
    const drawn = join(dir, 'drawn');
    // As a run side by side (xargs -P) that made the folder and failed would remove it: once made, as this run's network is
    // made (its session asked for), before anything can be drawn.
    const ort = await loadRuntime();
    const { create } = ort.InferenceSession;
    let removed = false;
    ort.InferenceSession.create = ((...args: Parameters<typeof create>) => {
      if (!removed) {
        removed = true;
        rmdirSync(drawn);
      }
      return create.apply(ort.InferenceSession, args);
    }) as typeof create;
    try {
      const { status, stderr } = await run('predict', DEMO_IMAGE(), ...tiny, '--weights', TINY_COCO_CHECKPOINT(), '--no-flip', '--render', drawn);
      expect(status, stderr).to.equal(0);
    } finally {
      ort.InferenceSession.create = create;
    }
    expect(removed, 'the folder was not removed as the run loaded').to.equal(true);
    expect(readdirSync(drawn)).to.deep.equal([basename(DEMO_IMAGE()).replace(/\.jpg$/, '.png')]);
  });

  it('BAD CALL - weights fetch of a checkpoint to download by hand fails, and keeps the cache folder it made, where it says to save the file', async () => {
    const cacheDir = join(dir, 'new', 'cache');
    const { status, stderr } = await run('weights', 'fetch', 'coco_w32_512', '--cache-dir', cacheDir);
    expect(status, stderr).to.equal(1);
    expect(stderr).to.contain(`Then save it as ${join(cacheDir, 'pose_higher_hrnet_w32_512.pth')}`);
    expect(readdirSync(cacheDir)).to.deep.equal([]);
  });
});
