/** The WebAssembly kernels (src/kernels) against plain JavaScript, and the embedded build against its source. */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { averagePlanes, kernelsImageDone, refineKernels, RegionResizer, resizedTileExtremes, tileExtremes, type Spans } from '../src/kernels/index.js';
import { doublingTaps, fmaf, Resizer } from '../src/aggregate/resize.js';

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

/**
 * ATen's bilinear resize output by output, from the resizer's taps: the width interpolation of
 * the two source rows, then the height interpolation, each `fmaf(v0, w0, v1 * w1)` in float32.
 */
function naiveResize(src: Float32Array, resizer: Resizer): Float32Array {
  const { inWidth, outHeight, outWidth, rows, columns } = resizer;
  const out = new Float32Array(outHeight * outWidth);
  const across = (sy: number, x: number): number =>
    fmaf(src[sy * inWidth + columns.index0[x]], columns.weight0[x], Math.fround(src[sy * inWidth + columns.index1[x]] * columns.weight1[x]));
  for (let y = 0; y < outHeight; y++) {
    for (let x = 0; x < outWidth; x++) {
      out[y * outWidth + x] = fmaf(across(rows.index0[y], x), rows.weight0[y], Math.fround(across(rows.index1[y], x) * rows.weight1[y]));
    }
  }
  return out;
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

  // Magnitudes spread over 2^-40..2^20 make many double sums inexact (the kernels' slow lanes).
  const spread = (next: () => number) => (): number => Math.fround((next() - 0.5) * 2 ** Math.floor(next() * 60 - 40));
  // Doublings of the width (the kernel's own width pass for them) from the smallest, 2 to 4, on.
  const sizes = [[128, 176, 256, 352], [256, 352, 512, 704], [256, 352, 480, 640], [7, 5, 3, 11], [1, 9, 4, 9], [33, 40, 16, 20], [6, 9, 6, 9], [3, 2, 6, 4], [4, 5, 8, 10], [2, 1, 4, 2]];

  it("a doubling of the width is told by its taps: ATen's for twice the width, and only those", () => {
    const doubled = sizes.filter(([inH, inW, outH, outW]) => new Resizer(inH, inW, outH, outW).doubledColumns).map((size) => size.join('x'));
    expect(doubled).to.deep.equal(['128x176x256x352', '256x352x512x704', '3x2x6x4', '4x5x8x10']);
    const { columns } = new Resizer(4, 5, 8, 10);
    expect(doublingTaps(columns, 5)).to.equal(true);
    columns.weight1[5] = Math.fround(0.7);
    expect(doublingTaps(columns, 5), 'a weight off').to.equal(false);
  });

  it('the plane resize equals the operations of ATen output by output, bit for bit (mirrored too), sums TwoSum finds inexact included', () => {
    // Values of one magnitude too, whose sums are exact: the kernel's fast lanes.
    const [wide, even] = [spread(random(11)), random(12)];
    for (const [[inH, inW, outH, outW], value] of sizes.flatMap((size) => [[size, wide], [size, even]] as const)) {
      const resizer = new Resizer(inH, inW, outH, outW);
      const src = Float32Array.from({ length: inH * inW }, value);
      const kernel = new Float32Array(outH * outW);
      const expected = naiveResize(src, resizer);
      resizer.plane(src, 0, kernel, 0);
      const differing = kernel.findIndex((v, i) => !Object.is(v, expected[i]));
      expect(differing, `${inH}x${inW} -> ${outH}x${outW}: first differing value`).to.equal(-1);
      const mirrored = new Float32Array(outH * outW);
      resizer.plane(src, 0, mirrored, 0, true);
      const unmirrored = mirrored.map((_, i) => mirrored[i - (i % outW) + outW - 1 - (i % outW)]);
      const differingMirrored = unmirrored.findIndex((v, i) => !Object.is(v, expected[i]));
      expect(differingMirrored, `${inH}x${inW} -> ${outH}x${outW} mirrored: first differing value`).to.equal(-1);
    }
  });

  it('resized tile extremes of one plane, or of the average of two, are the exact ones within a few float32 ulps of the magnitude', () => {
    const next = random(17);
    const cases = [[256, 352, 512, 704, 8, 2], [7, 5, 3, 11, 2, 1], [33, 40, 16, 20, 3, 2], [6, 9, 6, 9, 4, 1], [5, 6, 23, 29, 8, 2], [4, 5, 8, 10, 3, 2], [6, 9, 12, 18, 8, 1]];
    for (const [inH, inW, outH, outW, tile, count] of cases) {
      const resizer = new Resizer(inH, inW, outH, outW);
      const planes = Array.from({ length: count }, () => Float32Array.from({ length: inH * inW }, () => Math.fround((next() - 0.5) * 40)));
      // The maps' values: each plane resized exactly, then the float32 average.
      const [a, b] = planes.map((p) => naiveResize(p, resizer));
      const exact = b ? a.map((v, i) => Math.fround(Math.fround(v + b[i]) / 2)) : a;
      const [rows, columns] = [Math.ceil(outH / tile), Math.ceil(outW / tile)];
      const high = new Float64Array(rows * columns);
      const low = new Float64Array(rows * columns);
      const magnitude = resizedTileExtremes(planes, inH, inW, resizer, tile, high, low);
      expect(() => resizedTileExtremes([planes[0], planes[0], planes[0]], inH, inW, resizer, tile, high, low)).to.throw(RangeError, /one or two planes/);
      expect(magnitude, 'magnitude').to.equal(Math.max(...planes.map((p) => p.reduce((m, v) => Math.max(m, Math.abs(v)), 0))));
      const tolerance = 20 * 2 ** -24 * magnitude;
      for (let ty = 0; ty < rows; ty++) {
        for (let tx = 0; tx < columns; tx++) {
          let [hi, lo] = [-Infinity, Infinity];
          for (let y = ty * tile; y < Math.min((ty + 1) * tile, outH); y++) {
            for (let x = tx * tile; x < Math.min((tx + 1) * tile, outW); x++) [hi, lo] = [Math.max(hi, exact[y * outW + x]), Math.min(lo, exact[y * outW + x])];
          }
          const t = ty * columns + tx;
          if (!(Math.abs(high[t] - hi) <= tolerance && Math.abs(low[t] - lo) <= tolerance)) {
            expect.fail(`${inH}x${inW} -> ${outH}x${outW}, tile ${tile}, ${count} planes, at ${tx},${ty}: [${low[t]}, ${high[t]}], exact [${lo}, ${hi}]`);
          }
        }
      }
    }
  });

  it('plane averages equal float32 sums in order and a division, mirrored reads included', () => {
    const next = random(19);
    for (const [height, width, count] of [[5, 7, 1], [4, 9, 2], [3, 13, 3], [256, 352, 2]]) {
      const n = height * width;
      const stacks = Array.from({ length: count }, () => Float32Array.from({ length: 2 * n }, () => Math.fround((next() - 0.5) * 2 ** Math.floor(next() * 40 - 20))));
      const planes = stacks.map((data, i) => ({ data, offset: (i % 2) * n, mirror: i === count - 1 }));
      const out = new Float32Array(n + 3);
      averagePlanes(planes, height, width, out, 3);
      for (let p = 0; p < n; p++) {
        const [y, x] = [Math.floor(p / width), p % width];
        let sum = 0;
        planes.forEach(({ data, offset, mirror }, i) => {
          const v = data[offset + y * width + (mirror ? width - 1 - x : x)];
          sum = i === 0 ? v : Math.fround(sum + v);
        });
        const expected = Math.fround(sum / count);
        if (!Object.is(out[3 + p], expected)) expect.fail(`${height}x${width}, ${count} planes, at ${x},${y}: ${out[3 + p]}, not ${expected}`);
      }
    }
    expect(() => averagePlanes([], 2, 2, new Float32Array(4), 0)).to.throw(RangeError, /no planes/);
  });

  it('plane averages with resized planes equal the resize (mirrored as written) then the average; an identity resize is a copy', () => {
    const next = random(23);
    const value = (): number => Math.fround((next() - 0.5) * 2 ** Math.floor(next() * 40 - 20));
    for (const [inH, inW, height, width] of [[3, 4, 6, 8], [128, 176, 256, 352], [5, 7, 5, 7]]) {
      const resizer = new Resizer(inH, inW, height, width);
      const small = { data: Float32Array.from({ length: 2 * inH * inW }, value), channels: 2, height: inH, width: inW };
      const large = Float32Array.from({ length: height * width }, value);
      // Channel 1 of the small stack resized and mirrored, then the large plane mirrored.
      const planes = [{ data: small.data, offset: inH * inW, mirror: true, resize: resizer }, { data: large, offset: 0, mirror: true }];
      const out = new Float32Array(height * width);
      averagePlanes(planes, height, width, out, 0);
      const resized = resizer.planes(small, new Float32Array(2 * height * width), [1, 1]).data;
      for (let p = 0; p < height * width; p++) {
        const [y, x] = [Math.floor(p / width), p % width];
        const expected = Math.fround(Math.fround(resized[p] + large[y * width + width - 1 - x]) / 2);
        if (!Object.is(out[p], expected)) expect.fail(`${inH}x${inW} -> ${height}x${width} at ${x},${y}: ${out[p]}, not ${expected}`);
      }
    }
  });

  it("the memory a large image grew is given back after two smaller images, and kept from image to image of one size", () => {
    // The memory of this thread's instance, as the view a region of a side x side plane lies in.
    const memoryAfterRegion = (side: number) => {
      const stack = { data: new Float32Array(side * side), channels: 1, height: side, width: side };
      return new RegionResizer([stack], [new Resizer(side, side, side, side)], 8, 8, 1).region(0, 0, 0, 0, 8, 0, 8, 0).buffer;
    };
    const large = memoryAfterRegion(3000);
    expect(large.byteLength).to.be.greaterThan(36e6);
    kernelsImageDone();
    expect(memoryAfterRegion(3000), 'the same size again').to.equal(large);
    kernelsImageDone();
    for (const image of ['first', 'second']) {
      expect(memoryAfterRegion(100), `the ${image} smaller image`).to.equal(large);
      kernelsImageDone();
    }
    expect(memoryAfterRegion(100).byteLength, 'the third').to.be.lessThan(8e6);
    kernelsImageDone();
  });

  it('the refine instance is replaced by a fresh one for an image over 4 times smaller than one it held, not for one of its size', () => {
    const [side, tagDim] = [6000, 1];
    const large = refineKernels(side * side * (1 + tagDim));
    large.refineBegin(side, side, tagDim);
    expect(large.memory.buffer.byteLength).to.be.greaterThan(40e6);
    expect(refineKernels(side * side * (1 + tagDim)), 'the same size again').to.equal(large);
    expect(refineKernels(0.3 * side * side * (1 + tagDim)), 'a third of it').to.equal(large);
    const fresh = refineKernels(352 * 256 * (1 + tagDim));
    expect(fresh).to.not.equal(large);
    expect(fresh.memory.buffer.byteLength).to.be.lessThan(8e6);
  });

  it('region resizes of resident planes equal the whole resize, two resizers taking the memory in turn', () => {
    // Channel 1 of one magnitude (exact sums: the kernel's fast lanes), the others spread.
    const [wide, even] = [spread(random(13)), random(14)];
    const cases = sizes.map(([inH, inW, outH, outW]) => {
      const resizer = new Resizer(inH, inW, outH, outW);
      const stack = { data: Float32Array.from({ length: 3 * inH * inW }, (_, i) => (Math.floor(i / (inH * inW)) === 1 ? even() : wide())), channels: 3, height: inH, width: inW };
      const expected = [0, 1, 2].map((c) => naiveResize(stack.data.subarray(c * inH * inW, (c + 1) * inH * inW), resizer));
      // A second stack at the same size, and the identity (a copy), exercise stack and resize indices.
      const other = { data: stack.data.map((v) => -v), channels: 3, height: inH, width: inW };
      const same = new Resizer(inH, inW, inH, inW);
      return { resizer, regions: new RegionResizer([stack, other], [same, resizer], 8, 8, 2), expected, other };
    });
    for (let round = 0; round < 2; round++) {
      for (const { resizer, regions, expected, other } of cases) {
        const { outHeight: outH, outWidth: outW, inHeight: inH, inWidth: inW } = resizer;
        for (let y0 = 0; y0 < outH; y0 += 8) {
          for (let x0 = 0; x0 < outW; x0 += 8) {
            const [y1, x1] = [Math.min(y0 + 8, outH), Math.min(x0 + 8, outW)];
            const c = (y0 + x0) % 3;
            const got = regions.region(0, c, 1, y0, y1, x0, x1, 0);
            const negated = regions.region(1, c, 1, y0, y1, x0, x1, 1);
            for (let y = y0; y < y1; y++) {
              for (let x = x0; x < x1; x++) {
                const i = (y - y0) * 8 + x - x0;
                const want = expected[c][y * outW + x];
                if (!Object.is(got[i], want) || !Object.is(negated[i], -want)) expect.fail(`${inH}x${inW} -> ${outH}x${outW} channel ${c} at ${x},${y}: ${got[i]} / ${negated[i]}, not ${want}`);
              }
            }
            if (y0 < inH && x0 < inW) {
              const [cy1, cx1] = [Math.min(y1, inH), Math.min(x1, inW)];
              const copy = regions.region(1, c, 0, y0, cy1, x0, cx1, 0);
              for (let y = y0; y < cy1; y++) {
                for (let x = x0; x < cx1; x++) {
                  if (!Object.is(copy[(y - y0) * 8 + x - x0], other.data[c * inH * inW + y * inW + x])) expect.fail(`identity ${inH}x${inW} channel ${c} at ${x},${y}`);
                }
              }
            }
          }
        }
      }
    }
  });
});
