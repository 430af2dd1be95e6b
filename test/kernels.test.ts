/** The WebAssembly kernels (src/kernels) against plain JavaScript, and the embedded build against its source. */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { tileExtremes, type Spans } from '../src/kernels/index.js';
import { Resizer } from '../src/aggregate/resize.js';

/** A deterministic pseudo-random generator (LCG) in [0, 1). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function naiveExtremes(values: Float32Array, w: number, rows: Spans, columns: Spans): { high: number[]; low: number[] } {
  const high: number[] = [];
  const low: number[] = [];
  for (let ty = 0; ty < rows.first.length; ty++) {
    for (let tx = 0; tx < columns.first.length; tx++) {
      let [hi, lo] = [-Infinity, Infinity];
      for (let y = rows.first[ty]; y <= rows.last[ty]; y++) {
        for (let x = columns.first[tx]; x <= columns.last[tx]; x++) [hi, lo] = [Math.max(hi, values[y * w + x]), Math.min(lo, values[y * w + x])];
      }
      high.push(hi);
      low.push(lo);
    }
  }
  return { high, low };
}

/** Spans of `count` tiles over `size` source values: start and length drawn at random. */
function randomSpans(count: number, size: number, next: () => number): Spans {
  const first = Int32Array.from({ length: count }, () => Math.floor(next() * size));
  const last = first.map((f) => Math.min(size - 1, f + Math.floor(next() * 7)));
  return { first, last };
}

describe('WebAssembly kernels', () => {
  it('the embedded module is the build of kernels/ (npm run build:kernels)', () => {
    const check = spawnSync(process.execPath, ['kernels/build.mjs', '--check'], { encoding: 'utf8' });
    expect(check.status, check.stderr).to.equal(0);
  });

  it('tile extremes equal a direct scan: odd widths, overlapping and one-value spans, planes that grow the memory', () => {
    const next = random(7);
    for (const [h, w, rows, columns] of [[1, 1, 1, 1], [7, 13, 3, 5], [5, 4, 6, 2], [256, 352, 64, 88], [1030, 1021, 40, 37]]) {
      const values = Float32Array.from({ length: h * w }, () => (next() - 0.5) * 200);
      const rowSpans = randomSpans(rows, h, next);
      const columnSpans = randomSpans(columns, w, next);
      const high = new Float64Array(rows * columns);
      const low = new Float64Array(rows * columns);
      tileExtremes(values, h, w, rowSpans, columnSpans, high, low);
      const expected = naiveExtremes(values, w, rowSpans, columnSpans);
      expect(Array.from(high), `${h}x${w} highs`).to.deep.equal(expected.high);
      expect(Array.from(low), `${h}x${w} lows`).to.deep.equal(expected.low);
    }
  });

  it('the plane resize equals the JavaScript region resize bit for bit (mirrored too), sums TwoSum finds inexact included', () => {
    const next = random(11);
    // Magnitudes spread over 2^-40..2^20 make many double sums inexact (the kernel's slow lanes).
    const value = (): number => Math.fround((next() - 0.5) * 2 ** Math.floor(next() * 60 - 40));
    for (const [inH, inW, outH, outW] of [[128, 176, 256, 352], [256, 352, 512, 704], [256, 352, 480, 640], [7, 5, 3, 11], [1, 9, 4, 9], [33, 40, 16, 20], [6, 9, 6, 9]]) {
      const resizer = new Resizer(inH, inW, outH, outW);
      const src = Float32Array.from({ length: inH * inW }, value);
      const kernel = new Float32Array(outH * outW);
      const script = new Float32Array(outH * outW);
      resizer.plane(src, 0, kernel, 0);
      resizer.region(src, 0, 0, outH, 0, outW, script, 0, outW);
      const differing = kernel.findIndex((v, i) => !Object.is(v, script[i]));
      expect(differing, `${inH}x${inW} -> ${outH}x${outW}: first differing value`).to.equal(-1);
      const mirrored = new Float32Array(outH * outW);
      resizer.plane(src, 0, mirrored, 0, true);
      const unmirrored = mirrored.map((_, i) => mirrored[i - (i % outW) + outW - 1 - (i % outW)]);
      const differingMirrored = unmirrored.findIndex((v, i) => !Object.is(v, script[i]));
      expect(differingMirrored, `${inH}x${inW} -> ${outH}x${outW} mirrored: first differing value`).to.equal(-1);
    }
  });
});
