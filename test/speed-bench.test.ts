/**
 * `npm run bench` still runs, on both backends, and its JSON line has every figure the speed
 * targets are read from (README, Speed). The tiny models keep it short; nothing here is timed.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const BENCH = fileURLToPath(new URL('../bench/run.ts', import.meta.url));

function spawnBench(args: string[], env: NodeJS.ProcessEnv = process.env) {
  return spawnSync(process.execPath, ['--import', 'tsx', BENCH, '--preset', 'tiny_coco', '--repeat', '1', '--warmup', '0', '--batch', '1', '--json', ...args], { encoding: 'utf8', env });
}

function bench(...args: string[]): Record<string, unknown> {
  return figuresOf(spawnBench(args));
}

function figuresOf(child: ReturnType<typeof spawnBench>): Record<string, unknown> {
  expect(child.status, child.stderr).to.equal(0);
  const lines = child.stdout.trim().split('\n');
  expect(lines, '--json prints one line').to.have.length(1);
  return JSON.parse(lines[0]) as Record<string, unknown>;
}

/** docs/speed.md's table of the JSON line's keys. */
const JSON_KEYS_DOC = readFileSync(new URL('../docs/speed.md', import.meta.url), 'utf8');

/** Keys of `figures` that docs/speed.md does not name (as themselves, or with `<input>` for the input's size; `_median` beside a time). */
function undocumented(figures: Record<string, unknown>): string[] {
  return Object.keys(figures).filter((key) => {
    const name = key.replace(/_median$/, '');
    return ![name, name.replace(/_(512_512|640_480)$/, '_<input>')].some((documented) => JSON_KEYS_DOC.includes(`\`${documented}\``));
  });
}

const RATIOS = ['flip_batch_speedup', 'postprocess_ratio', 'overhead_ratio'];
const TIMES = ['network_single_ms_640_480', 'network_flip_separate_ms_640_480', 'network_flip_batched_ms_640_480', 'postprocess_ms', 'estimate_poses_ms', 'peak_rss_mb'];

function expectPositive(figures: Record<string, unknown>, keys: string[]): void {
  for (const key of keys) expect(figures[key], key).to.be.a('number').that.is.greaterThan(0).and.lessThan(Infinity);
}

describe('npm run bench', function () {
  this.timeout(600_000);

  it('times ONNX Runtime: every figure of the targets, int8 included', () => {
    const figures = bench();
    expect(figures).to.include({ backend: 'onnxruntime', preset: 'tiny_coco' });
    expect(figures.runtime).to.match(/^onnxruntime-node /);
    expectPositive(figures, [...RATIOS, ...TIMES, 'network_threads', 'low_precision_speedup', 'low_precision_keypoint_agreement']);
    // Two threads or more: the estimator runs the flip pair at once on two sessions, and the bench times that too.
    if (Number(figures.network_threads) >= 2) {
      expect(figures.estimator_concurrent_flip).to.equal(true);
      expectPositive(figures, ['network_flip_concurrent_ms_640_480', 'flip_concurrent_speedup', 'network_flip_ms_alongside']);
    }
    expect(undocumented(figures), 'keys docs/speed.md does not list').to.deep.equal([]);
  });

  it('times TensorFlow.js with --backend tfjs: the same figures, without int8 (and without the COCO slice, on a generated picture it names)', () => {
    const child = spawnBench(['--backend', 'tfjs', '--tfjs-backend', 'wasm'], { ...process.env, HIGHER_POSE_COCO: '/nonexistent/coco-mini' });
    const figures = figuresOf(child);
    expect(child.stderr).to.match(/^higher-pose bench: no COCO photos in \/nonexistent\/coco-mini\/val2017 .*generated 640x480 picture$/m);
    expect(figures).to.include({ backend: 'tfjs', photo: 'generated 640x480' });
    expect(figures.runtime).to.match(/^@tensorflow\/tfjs [\d.]+, backend wasm$/);
    expectPositive(figures, [...RATIOS, ...TIMES]);
    expect(figures).to.not.have.any.keys('low_precision_speedup', 'network_threads');
    expect(undocumented(figures), 'keys docs/speed.md does not list').to.deep.equal([]);
  });

  it('stops on a bad option or a refused run with one line on stderr, before any figure', () => {
    const stderr = [['--repeat', '0'], ['--backend', 'tfjs', '--device', 'webgpu']].map((args) => {
      const child = spawnBench(args);
      expect(child.status, args.join(' ')).to.equal(1);
      expect(child.stdout, args.join(' ')).to.equal('');
      expect(child.stderr.trim().split('\n'), `${args.join(' ')}: ${child.stderr}`).to.have.length(1);
      return child.stderr;
    });
    expect(stderr[0]).to.match(/^error: option '--repeat <n>' argument '0' is invalid/);
    expect(stderr[1]).to.match(/^higher-pose bench: ConfigError: backend 'tfjs' has no WebGPU backend in Node/);
  });
});
