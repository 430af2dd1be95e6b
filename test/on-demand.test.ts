/**
 * Maps computed on demand (src/aggregate/on-demand.ts) against the whole-map aggregation: the
 * same values tile by tile, bounds that hold, the same people, and less of the maps computed.
 */
import { expect } from 'chai';
import ndarray from 'ndarray';
import type { NdArray } from 'ndarray';
import { presetConfig } from '../src/config/presets.js';
import type { TestSettings } from '../src/config/experiment.js';
import { COCO_KEYPOINTS } from '../src/datasets.js';
import { aggregate, aggregateOnDemand, completeMaps, type ScaleOutputs } from '../src/aggregate/aggregate.js';
import { group, groupMaps } from '../src/grouping/parse.js';
import { denseMaps, exactTagRanges, exactTileMax, tileGrid, TILE } from '../src/grouping/maps.js';
import { topK } from '../src/grouping/topk.js';
import { Workspace } from '../src/workspace.js';
import type { OutputTensor } from '../src/types.js';
import { ParallelPostprocessing } from '../src/parallel/postprocess.js';
import { jointQueue, takeJoints } from '../src/parallel/joint-queue.js';
import { Worker } from 'node:worker_threads';
import { DecodeError } from '../src/aggregate/errors.js';

const J = 17;

/** Smooth pseudo-random maps: sums of a few bumps and waves per channel, plus noise, in [-amp, amp]. */
function smoothOutput(c: number, h: number, w: number, seed: number, amp: number): NdArray<Float32Array> {
  let s = seed >>> 0;
  const rand = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const data = new Float32Array(c * h * w);
  for (let ch = 0; ch < c; ch++) {
    const waves = Array.from({ length: 3 }, () => [rand() * 0.5, rand() * 0.5, rand() * 6, rand()]);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let v = 0;
        for (const [fx, fy, phase, weight] of waves) v += weight * Math.sin(fx * x + fy * y + phase);
        data[(ch * h + y) * w + x] = (amp * (v / 3 + 0.1 * (rand() - 0.5))) / 1.1;
      }
    }
  }
  return ndarray(data, [1, c, h, w]);
}

/** Network outputs of one scale: `[1, 2J, h, w]` (heatmaps + tags) and `[1, J, 2h, 2w]`. */
function outputs(h: number, w: number, seed: number, amp = 1): NdArray<Float32Array>[] {
  return [smoothOutput(2 * J, h, w, seed, amp), smoothOutput(J, 2 * h, 2 * w, seed + 1, amp)];
}

/** The outputs with every heatmap channel made negative (tags kept). */
function negativeHeatmaps(out: NdArray<Float32Array>[]): NdArray<Float32Array>[] {
  return out.map((t) => {
    const data = t.data.slice();
    const heatmapValues = J * t.shape[2] * t.shape[3];
    for (let i = 0; i < heatmapValues; i++) data[i] = -Math.abs(data[i]) - 0.01;
    return ndarray(data, t.shape);
  });
}

const settingsWith = (overrides: Partial<TestSettings>): TestSettings => ({ ...presetConfig('tiny_coco').test, ...overrides });

interface Case {
  name: string;
  settings: TestSettings;
  perScale: ScaleOutputs[];
  baseSize: [number, number];
}

const cases: Case[] = [
  {
    name: 'flip test, PROJECT2IMAGE, uneven size',
    settings: settingsWith({ flipTest: true, project2image: true, scaleFactor: [1] }),
    perScale: [{ scale: 1, outputs: outputs(13, 21, 1), flipped: outputs(13, 21, 2) }],
    baseSize: [84, 52],
  },
  {
    name: 'no flip, heatmaps far above the detection threshold',
    settings: settingsWith({ flipTest: false, project2image: true, scaleFactor: [1] }),
    perScale: [{ scale: 1, outputs: outputs(16, 16, 3, 6) }],
    baseSize: [64, 64],
  },
  {
    name: 'flip test, three scales',
    settings: settingsWith({ flipTest: true, project2image: true, scaleFactor: [2, 1, 0.5] }),
    perScale: [
      { scale: 0.5, outputs: outputs(6, 8, 4), flipped: outputs(6, 8, 5) },
      { scale: 1, outputs: outputs(12, 16, 6), flipped: outputs(12, 16, 7) },
      { scale: 2, outputs: outputs(24, 32, 8), flipped: outputs(24, 32, 9) },
    ],
    baseSize: [64, 48],
  },
  {
    name: 'flip test without PROJECT2IMAGE, two scales',
    settings: settingsWith({ flipTest: true, project2image: false, scaleFactor: [1, 0.5] }),
    perScale: [
      { scale: 1, outputs: outputs(12, 16, 10), flipped: outputs(12, 16, 11) },
      { scale: 0.5, outputs: outputs(6, 8, 12), flipped: outputs(6, 8, 13) },
    ],
    baseSize: [64, 48],
  },
  {
    name: 'all heatmaps negative (top-k ranks the suppressed zeros)',
    settings: settingsWith({ flipTest: true, project2image: true, scaleFactor: [1] }),
    perScale: [
      {
        scale: 1,
        outputs: negativeHeatmaps(outputs(12, 16, 14)),
        flipped: negativeHeatmaps(outputs(12, 16, 15)),
      },
    ],
    baseSize: [64, 48],
  },
];

describe('aggregation on demand', () => {
  for (const c of cases) {
    it(`${c.name}: bounds hold for every tile, and tiles equal the whole maps bit for bit`, () => {
      const whole = aggregate(c.perScale, c.settings, COCO_KEYPOINTS, c.baseSize);
      const maps = aggregateOnDemand(c.perScale, c.settings, COCO_KEYPOINTS, c.baseSize);
      const { height, width, tagDim } = maps;
      const { columns, rows } = tileGrid(height, width);
      const tagPlanes = whole.tags.shape[1];
      let [differing, outOfBounds] = [0, 0];
      for (let j = 0; j < J; j++) {
        const detBound = maps.detBounds(j).slice();
        const { low, high } = maps.tagBounds(j);
        const [tagLow, tagHigh] = [low.slice(), high.slice()];
        const tagPlane = tagPlanes === 1 ? 0 : j;
        for (let t = 0; t < columns * rows; t++) {
          maps.ensureTile(j, t);
          maps.ensureTagTile(j, t);
          const [x0, y0] = [(t % columns) * TILE, Math.floor(t / columns) * TILE];
          for (let y = y0; y < Math.min(y0 + TILE, height); y++) {
            for (let x = x0; x < Math.min(x0 + TILE, width); x++) {
              const p = (j * height + y) * width + x;
              if (!Object.is(maps.det[p], whole.heatmaps.data[p])) differing += 1;
              if (!(maps.det[p] <= detBound[t])) outOfBounds += 1;
              for (let d = 0; d < tagDim; d++) {
                const at = ((tagPlane * height + y) * width + x) * tagDim + d;
                if (!Object.is(maps.tags[at], whole.tags.data[at])) differing += 1;
                if (!(maps.tags[at] >= tagLow[t * tagDim + d] && maps.tags[at] <= tagHigh[t * tagDim + d])) outOfBounds += 1;
              }
            }
          }
        }
      }
      expect(differing, 'values that differ from the whole maps').to.equal(0);
      expect(outOfBounds, 'values outside their tile bounds').to.equal(0);
      // Asked for again, the bounds of the tiles computed since are their exact extremes.
      let loose = 0;
      for (let j = 0; j < J; j++) {
        const detBound = maps.detBounds(j);
        const { low, high } = maps.tagBounds(j);
        for (let t = 0; t < columns * rows; t++) {
          if (detBound[t] !== exactTileMax(maps, j, t)) loose += 1;
          const exact = { low: new Float64Array(columns * rows * tagDim), high: new Float64Array(columns * rows * tagDim) };
          exactTagRanges(maps, tagPlanes === 1 ? 0 : j, t, exact);
          for (let d = 0; d < tagDim; d++) if (low[t * tagDim + d] !== exact.low[t * tagDim + d] || high[t * tagDim + d] !== exact.high[t * tagDim + d]) loose += 1;
        }
      }
      expect(loose, 'bounds of computed tiles that are not exact').to.equal(0);
    });

    it(`${c.name}: finds the same candidates and groups the same people as the whole maps, computing less of them`, () => {
      const whole = aggregate(c.perScale, c.settings, COCO_KEYPOINTS, c.baseSize);
      const expected = group(whole.heatmaps, whole.tags, c.settings, COCO_KEYPOINTS);
      const maps = aggregateOnDemand(c.perScale, c.settings, COCO_KEYPOINTS, c.baseSize);
      const dense = denseMaps({ det: whole.heatmaps.data, tags: whole.tags.data, numJoints: J, height: maps.height, width: maps.width, tagChannels: maps.tagChannels, tagDim: maps.tagDim });
      const { maxNumPeople: k, nmsKernel, nmsPadding } = c.settings;
      expect(topK(maps, k, nmsKernel, nmsPadding)).to.deep.equal(topK(dense, k, nmsKernel, nmsPadding));
      const got = groupMaps(maps, c.settings);
      expect(got).to.deep.equal(expected);
      expect(maps.tilesComputed).to.be.lessThan(J * maps.tileCount);
    });

    it(`${c.name}: top-k with the detection threshold as floor keeps exactly the candidates above it`, () => {
      const { maxNumPeople: k, nmsKernel, nmsPadding, detectionThreshold: floor } = c.settings;
      const all = topK(aggregateOnDemand(c.perScale, c.settings, COCO_KEYPOINTS, c.baseSize), k, nmsKernel, nmsPadding);
      const maps = aggregateOnDemand(c.perScale, c.settings, COCO_KEYPOINTS, c.baseSize);
      const above = topK(maps, k, nmsKernel, nmsPadding, floor);
      for (let at = 0; at < J * k; at++) {
        if (all.val[at] > floor) {
          expect([above.val[at], above.x[at], above.y[at]], `entry ${at}`).to.deep.equal([all.val[at], all.x[at], all.y[at]]);
          expect(above.tag.subarray(at * all.tagDim, (at + 1) * all.tagDim)).to.deep.equal(all.tag.subarray(at * all.tagDim, (at + 1) * all.tagDim));
        } else {
          expect(above.val[at], `entry ${at}`).to.equal(-Infinity);
        }
      }
    });
  }
  it('one workspace reused image after image (sizes and settings changing) groups each as fresh buffers do', () => {
    const workspace = new Workspace();
    // Twice through: the second round reuses buffers sized by larger images before.
    for (const c of [...cases, ...[...cases].reverse()]) {
      const fresh = groupMaps(aggregateOnDemand(c.perScale, c.settings, COCO_KEYPOINTS, c.baseSize), c.settings);
      const reused = groupMaps(aggregateOnDemand(c.perScale, c.settings, COCO_KEYPOINTS, c.baseSize, workspace), c.settings);
      expect(reused, c.name).to.deep.equal(fresh);
    }
  });
  it('aggregation and grouping on four threads (three workers, shared maps) give the maps and people of one thread', async () => {
    const parallel = new ParallelPostprocessing(undefined, 3);
    const workspace = new Workspace({ shared: true });
    try {
      for (const c of cases) {
        const expected = groupMaps(aggregateOnDemand(c.perScale, c.settings, COCO_KEYPOINTS, c.baseSize), c.settings);
        expect((await parallel.decode(c.perScale, c.settings, COCO_KEYPOINTS, c.baseSize, workspace)).grouping, c.name).to.deep.equal(expected);
        // A workspace that is not shared works too (what the workers read is copied into shared memory).
        expect((await parallel.decode(c.perScale, c.settings, COCO_KEYPOINTS, c.baseSize, new Workspace())).grouping, `${c.name}, plain workspace`).to.deep.equal(expected);
      }
    } finally {
      await parallel.dispose();
    }
  });

  it('aggregation and grouping on two threads (one worker, shared maps) give the maps and people of one thread, case after case', async () => {
    const parallel = new ParallelPostprocessing(undefined, 1);
    const workspace = new Workspace({ shared: true });
    try {
      for (const c of [...cases, ...cases]) {
        const expected = groupMaps(aggregateOnDemand(c.perScale, c.settings, COCO_KEYPOINTS, c.baseSize), c.settings);
        const { maps, grouping } = await parallel.decode(c.perScale, c.settings, COCO_KEYPOINTS, c.baseSize, workspace);
        expect(grouping, c.name).to.deep.equal(expected);
        const whole = aggregate(c.perScale, c.settings, COCO_KEYPOINTS, c.baseSize);
        const { heatmaps, tags } = completeMaps(maps);
        expect(Buffer.from(heatmaps.data.buffer, heatmaps.data.byteOffset, heatmaps.data.byteLength).equals(Buffer.from(whole.heatmaps.data.buffer, whole.heatmaps.data.byteOffset, whole.heatmaps.data.byteLength)), `${c.name}: heatmaps`).to.equal(true);
        expect(Buffer.from(tags.data.buffer, tags.data.byteOffset, tags.data.byteLength).equals(Buffer.from(whole.tags.data.buffer, whole.tags.data.byteOffset, whole.tags.data.byteLength)), `${c.name}: tags`).to.equal(true);
      }
      // A refused setting is reported, and the worker goes on with the next image.
      const [c] = cases;
      const bad = { ...c.settings, nmsKernel: 4 };
      let error: unknown;
      await parallel.decode(c.perScale, bad, COCO_KEYPOINTS, c.baseSize, workspace).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(DecodeError);
      const again = await parallel.decode(c.perScale, c.settings, COCO_KEYPOINTS, c.baseSize, workspace);
      expect(again.grouping).to.deep.equal(groupMaps(aggregateOnDemand(c.perScale, c.settings, COCO_KEYPOINTS, c.baseSize), c.settings));
      // NaN in a plain or a flipped output, or in both, or in passes of different scales: the error of
      // one thread, the first in its order (largest scale first, a scale's plain pass before its
      // flipped one), though each thread checks the passes it combines.
      const poison = (outputs: readonly OutputTensor[]) => {
        const poisoned = outputs.map((t) => ndarray(Float32Array.from(t.data), t.shape));
        poisoned[1].set(0, 3, 2, 1, NaN);
        return poisoned;
      };
      const expectOneThreadError = async (c: Case, perScale: ScaleOutputs[], pattern: RegExp) => {
        const expected = (() => {
          try {
            aggregateOnDemand(perScale, c.settings, COCO_KEYPOINTS, c.baseSize);
          } catch (e) {
            return (e as Error).message;
          }
          return 'no error';
        })();
        expect(expected).to.match(pattern);
        const failed = await parallel.decode(perScale, c.settings, COCO_KEYPOINTS, c.baseSize, workspace).then(() => null, (e: unknown) => e);
        expect(failed).to.be.instanceOf(DecodeError);
        expect((failed as Error).message).to.equal(expected);
      };
      const flipCase = cases.find((k) => k.perScale[0].flipped) as Case;
      for (const pass of ['outputs', 'flipped', 'both'] as const) {
        const [first] = flipCase.perScale;
        const poisoned = pass === 'both' ? { outputs: poison(first.outputs), flipped: poison(first.flipped!) } : { [pass]: poison(first[pass]!) };
        const perScale = [{ ...first, ...poisoned }, ...flipCase.perScale.slice(1)];
        await expectOneThreadError(flipCase, perScale, new RegExp(`network output 1 at scale ${first.scale}${pass === 'flipped' ? ' \\(flipped\\)' : ''} contains NaN`));
      }
      const threeScales = cases.find((k) => k.perScale.length === 3) as Case;
      const poisonedScales = threeScales.perScale.map((s) => (s.scale === 0.5 ? { ...s, outputs: poison(s.outputs) } : s.scale === 2 ? { ...s, flipped: poison(s.flipped!) } : s));
      await expectOneThreadError(threeScales, poisonedScales, /network output 1 at scale 2 \(flipped\) contains NaN/);
    } finally {
      await parallel.dispose();
    }
  });

  it('shares joints out between threads: each its own first, in order, then the others\' from the far end, every joint once', async () => {
    const workspace = new Workspace({ shared: true });
    const queue = jointQueue([[1, 3, 5], [0, 2, 4, 6]], workspace, 'queue');
    const [first, second]: number[][] = [[], []];
    const fromFirst = takeJoints(queue, 0, first);
    const fromSecond = takeJoints(queue, 1, second);
    expect([fromFirst.next().value, fromFirst.next().value, fromSecond.next().value]).to.deep.equal([1, 3, 0]);
    expect([...fromFirst]).to.deep.equal([5, 6, 4, 2]);
    expect([...fromSecond]).to.deep.equal([]);
    expect([first, second]).to.deep.equal([[1, 3, 5, 6, 4, 2], [0]]);
    // Three segments: a thread done with its own goes round the others, the next one first.
    const three = jointQueue([[0, 3], [1, 4], [2, 5]], workspace, 'three');
    const third: number[] = [];
    expect([...takeJoints(three, 2, third)]).to.deep.equal([2, 5, 3, 0, 4, 1]);
    expect([...takeJoints(three, 0, [])]).to.deep.equal([]);
    expect([...takeJoints(jointQueue([[], []], workspace, 'empty'), 0, [])]).to.deep.equal([]);
    // Shared memory whatever the workspace: the threads work on the queue together.
    expect(jointQueue([[0], [1]], new Workspace(), 'unshared').buffer).to.be.instanceOf(SharedArrayBuffer);

    // Two threads racing through a long queue take every entry exactly once. The other thread
    // takes its segment from the high end, then this thread's (one compare-and-swap per entry).
    const many = Array.from({ length: 60000 }, (_, i) => i);
    const race = jointQueue([many.slice(0, 30000), many.slice(30000)], workspace, 'race');
    const start = new Int32Array(new SharedArrayBuffer(8));
    const worker = new Worker(
      `const { parentPort, workerData: { slots, start } } = require('node:worker_threads');
       const taken = [];
       Atomics.store(start, 0, 1);
       Atomics.notify(start, 0);
       while (Atomics.load(start, 1) === 0);
       for (const at of [2, 1]) for (;;) {
         const bounds = Atomics.load(slots, at); const low = bounds & 0xffff; const high = bounds >>> 16;
         if (low >= high) break;
         if (Atomics.compareExchange(slots, at, bounds, low | ((high - 1) << 16)) === bounds) taken.push(slots[high - 1]);
       }
       parentPort.postMessage(taken);`,
      { eval: true, workerData: { slots: race, start } },
    );
    const theirs = new Promise<number[]>((resolve) => worker.once('message', resolve));
    Atomics.wait(start, 0, 0, 10000);
    Atomics.store(start, 1, 1);
    const mine = [...takeJoints(race, 0, [])];
    const other = await theirs;
    await worker.terminate();
    expect(mine.length, 'both threads took entries').to.be.above(0);
    expect(other.length, 'both threads took entries').to.be.above(0);
    expect([...mine, ...other].sort((a, b) => a - b)).to.deep.equal(many);
  });
});
