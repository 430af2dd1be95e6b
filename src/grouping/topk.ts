/**
 * Top-k detections per joint type (reference `HeatmapParser.top_k`): NMS, then the k largest
 * suppressed values of each heatmap with their positions and the tag values there.
 */
import type { GroupingMaps } from './maps.js';
import type { Candidates } from './match.js';
import { suppressNonMaxima } from './nms.js';

/**
 * Indices of the k largest values, largest first. Equal values keep index order (the first
 * occurrence ranks higher), which is how the fixtures' torch.topk resolves the ties that matter.
 */
function largestIndices(values: Float32Array, k: number): Int32Array {
  const best = new Int32Array(k);
  let size = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (size === k && !(v > values[best[k - 1]])) continue;
    let at = size < k ? size : k - 1;
    while (at > 0 && v > values[best[at - 1]]) {
      best[at] = best[at - 1];
      at -= 1;
    }
    best[at] = i;
    if (size < k) size += 1;
  }
  return best;
}

/**
 * The k largest positive local maxima of one heatmap (the positive values NMS keeps), largest
 * first, equal values in index order; fewer than k when the map has fewer. A pixel is kept by
 * NMS exactly when no value in its window exceeds it (max pooling is exact), so only pixels
 * that beat the current k-th value need the window check: after the first few, almost none.
 */
function positiveMaxima(det: Float32Array, from: number, height: number, width: number, k: number, kernel: number, padding: number, best: Int32Array, bestValue: Float32Array): number {
  let size = 0;
  let floor = 0;
  for (let y = 0; y < height; y++) {
    const y0 = Math.max(0, y - padding);
    const y1 = Math.min(height - 1, y - padding + kernel - 1);
    for (let x = 0; x < width; x++) {
      const v = det[from + y * width + x];
      if (!(v > floor)) continue;
      const x0 = Math.max(0, x - padding);
      const x1 = Math.min(width - 1, x - padding + kernel - 1);
      let isMax = true;
      for (let wy = y0; wy <= y1 && isMax; wy++) {
        const row = from + wy * width;
        for (let wx = x0; wx <= x1; wx++) {
          if (det[row + wx] > v) {
            isMax = false;
            break;
          }
        }
      }
      if (!isMax) continue;
      // Insert after the equal values already held: they come first in index order.
      let at = size < k ? size : k - 1;
      while (at > 0 && v > bestValue[at - 1]) {
        best[at] = best[at - 1];
        bestValue[at] = bestValue[at - 1];
        at -= 1;
      }
      best[at] = y * width + x;
      bestValue[at] = v;
      if (size < k) size += 1;
      if (size === k) floor = bestValue[k - 1];
    }
  }
  return size;
}

export function topK(input: GroupingMaps, k: number, nmsKernel: number, nmsPadding: number): Candidates {
  const { numJoints, height, width, tagDim } = input;
  const plane = height * width;
  const out: Candidates = {
    numJoints,
    k,
    tagDim,
    val: new Float32Array(numJoints * k),
    x: new Int32Array(numJoints * k),
    y: new Int32Array(numJoints * k),
    tag: new Float32Array(numJoints * k * tagDim),
  };
  let suppressed: Float32Array | null = null;
  const best = new Int32Array(k);
  const bestValue = new Float32Array(k);
  for (let j = 0; j < numJoints; j++) {
    let indices: Int32Array;
    let values: Float32Array;
    if (positiveMaxima(input.det, j * plane, height, width, k, nmsKernel, nmsPadding, best, bestValue) === k) {
      // k positive maxima: every other value of the suppressed map is smaller, zero or negative.
      indices = best;
      values = bestValue;
    } else {
      // The zeros of suppressed pixels (and negative maxima) rank too: the whole suppressed map.
      suppressed ??= new Float32Array(plane);
      suppressNonMaxima(input.det.subarray(j * plane, (j + 1) * plane), height, width, nmsKernel, nmsPadding, suppressed);
      indices = largestIndices(suppressed, k);
      values = suppressed;
    }
    // Shared tag maps (MODEL.TAG_PER_JOINT off) are expanded to every joint.
    const tagPlane = input.tagChannels === 1 ? 0 : j;
    for (let m = 0; m < k; m++) {
      const index = indices[m];
      const at = j * k + m;
      out.val[at] = values === bestValue ? bestValue[m] : values[index];
      out.x[at] = index % width;
      out.y[at] = Math.floor(index / width);
      const tagAt = (tagPlane * plane + index) * tagDim;
      out.tag.set(input.tags.subarray(tagAt, tagAt + tagDim), at * tagDim);
    }
  }
  return out;
}
