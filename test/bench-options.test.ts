/**
 * `npm run bench`'s reporting, without timing anything: its command line is checked before any
 * model is built, its fallbacks say so, its JSON line holds only finite figures, and a device
 * without its execution provider is named as the estimator names it.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommanderError } from 'commander';
import { benchOptions, benchProgram } from '../bench/options.js';
import { calibrationPhotos, photo640x480 } from '../bench/photos.js';
import { figuresLine } from '../bench/figures.js';
import { onnxBareNetwork } from '../bench/bare.js';
import { presetConfig } from '../src/config/presets.js';
import { buildNetworkGraph } from '../src/higher/network.js';
import { randomWeights } from '../src/model/weights.js';
import { compileModel } from '../src/model/load.js';
import { BackendError } from '../src/backend/onnx/session.js';

/** The bench's options for `args`, or the one line it would print on stderr before exiting. */
function parsed(...args: string[]): ReturnType<typeof benchOptions> | { error: string } {
  let stderr = '';
  const program = benchProgram().exitOverride().configureOutput({ writeErr: (s) => { stderr += s; } });
  try {
    return benchOptions(['node', 'bench/run.ts', ...args], program);
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    return { error: stderr };
  }
}

function refusal(...args: string[]): string {
  const result = parsed(...args);
  expect(result, args.join(' ')).to.have.property('error');
  const { error } = result as { error: string };
  expect(error.trim().split('\n'), `${args.join(' ')}: one line`).to.have.length(1);
  return error;
}

describe('npm run bench: options', () => {
  it('refuses run counts that would time nothing or be read wrong (0, negative, not a number, fractional)', () => {
    for (const value of ['0', '-1', 'abc', '2.5', '5abc']) expect(refusal('--repeat', value)).to.include(`'--repeat <n>' argument '${value}' is invalid`);
    for (const value of ['-1', 'abc', '']) expect(refusal('--warmup', value)).to.include('--warmup');
    for (const value of ['0', '-3']) expect(refusal('--batch', value)).to.include('--batch');
  });

  it('refuses threads the estimator would refuse, before the bare session starts them', () => {
    expect(refusal('--threads', '0')).to.include('--threads');
    expect(refusal('--threads', '5000')).to.match(/--threads.*from 1 to 1024/);
  });

  it('refuses an unknown preset, device, backend or TensorFlow.js backend, naming the choices', () => {
    expect(refusal('--preset', 'nonexistent')).to.match(/--preset.*coco_w32_512/);
    expect(refusal('--device', 'gpu')).to.match(/--device.*cpu, cuda, webgpu/);
    expect(refusal('--backend', 'torch')).to.match(/--backend.*onnxruntime, tfjs/);
    expect(refusal('--backend', 'tfjs', '--tfjs-backend', 'webgl')).to.match(/--tfjs-backend.*tensorflow, wasm, cpu/);
    expect(refusal('--bogus')).to.include("unknown option '--bogus'");
  });

  it('refuses options that do not go together, which the estimator would refuse only after the network is timed', () => {
    expect(refusal('--tfjs-backend', 'wasm')).to.include('--backend tfjs');
    expect(refusal('--backend', 'tfjs', '--threads', '2')).to.match(/--threads.*--backend tfjs/);
  });

  it('takes the defaults and valid values as numbers', () => {
    expect(parsed()).to.include({ preset: 'coco_w32_512', repeat: 5, warmup: 1, batch: 3, device: 'cpu', backend: 'onnxruntime', json: false });
    expect(parsed('--preset', 'tiny_coco', '--repeat', '1', '--warmup', '0', '--batch', '2', '--threads', '1', '--json')).to.include({ preset: 'tiny_coco', repeat: 1, warmup: 0, batch: 2, threads: 1, json: true });
    expect(parsed('--backend', 'tfjs', '--tfjs-backend', 'wasm')).to.include({ backend: 'tfjs', tfjsBackend: 'wasm' });
  });

  it("README's list of the options is --help's", () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const sentence = /`npm run bench` \(([^)]*)\) times/.exec(readme.replace(/\n/g, ' '));
    expect(sentence, 'the sentence listing the options').to.not.equal(null);
    const documented = [...sentence![1].matchAll(/`(--[a-z-]+)/g)].map((m) => m[1]).sort();
    let help = '';
    benchProgram().configureOutput({ writeOut: (s) => { help += s; } }).outputHelp();
    const shown = [...help.matchAll(/^ {2}(--[a-z-]+)/gm)].map((m) => m[1]).filter((flag) => flag !== '--help').sort();
    expect(documented).to.deep.equal(shown);
  });
});

describe('npm run bench: without the COCO slice', () => {
  const missing = join('/nonexistent', 'coco-mini');

  it('times a generated picture and says why', async () => {
    const photo = await photo640x480(missing);
    expect(photo.source).to.equal('generated 640x480');
    expect(photo.image).to.include({ width: 640, height: 480 });
    expect(photo.note).to.include(join(missing, 'val2017')).and.include('HIGHER_POSE_COCO').and.include('generated');
  });

  it('calibrates int8 on the timed picture and says so', async () => {
    const { image } = await photo640x480(missing);
    const calibration = calibrationPhotos(missing, image, 4);
    expect(calibration.images).to.deep.equal([image]);
    expect(calibration.note).to.include('calibrated on the timed picture itself');
  });
});

describe('npm run bench: the JSON line', () => {
  it('is one line of the figures when they are finite', () => {
    const line = figuresLine({ preset: 'tiny_coco', overhead_ratio: 1.05, estimator_flip_batch: true });
    expect(line).to.not.include('\n');
    expect(JSON.parse(line)).to.deep.equal({ preset: 'tiny_coco', overhead_ratio: 1.05, estimator_flip_batch: true });
  });

  it('refuses a figure that is not a finite number, naming it, rather than writing null', () => {
    expect(() => figuresLine({ postprocess_ratio: Infinity, peak_rss_mb: NaN, overhead_ratio: 1 })).to.throw(RangeError, /postprocess_ratio Infinity, peak_rss_mb NaN$/);
  });
});

describe('npm run bench: the bare network', () => {
  it("names a device whose execution provider is missing as the estimator does", async function () {
    this.timeout(60_000);
    const config = presetConfig('tiny_coco');
    const model = compileModel(config, randomWeights(buildNetworkGraph(config.model)));
    let network;
    try {
      network = await onnxBareNetwork(model, { executionProviders: ['cuda'] });
    } catch (err) {
      expect(err).to.be.instanceOf(BackendError);
      expect((err as Error).message).to.include("device 'cuda'").and.include('not installed');
      return;
    }
    await network.release();
    this.skip(); // This onnxruntime-node has the CUDA provider.
  });
});
