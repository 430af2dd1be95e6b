/**
 * Top-k detections per joint type (reference `HeatmapParser.top_k`): NMS, then the k largest
 * suppressed values of each heatmap with their positions and the tag values there.
 */
import type { Candidates } from './match.js';
import { suppressNonMaxima } from './nms.js';

export interface TopKInput {
  /** `[J, H, W]` heatmaps. */
  det: Float32Array;
  numJoints: number;
  height: number;
  width: number;
  /** `[T, H, W, K]` tag maps; T = J, or 1 when one tag map is shared by all joints. */
  tags: Float32Array;
  tagChannels: number;
  tagDim: number;
}

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

export function topK(input: TopKInput, k: number, nmsKernel: number, nmsPadding: number): Candidates {
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
  const suppressed = new Float32Array(plane);
  for (let j = 0; j < numJoints; j++) {
    suppressNonMaxima(input.det.subarray(j * plane, (j + 1) * plane), height, width, nmsKernel, nmsPadding, suppressed);
    // Shared tag maps (MODEL.TAG_PER_JOINT off) are expanded to every joint.
    const tagPlane = input.tagChannels === 1 ? 0 : j;
    largestIndices(suppressed, k).forEach((index, m) => {
      const at = j * k + m;
      out.val[at] = suppressed[index];
      out.x[at] = index % width;
      out.y[at] = Math.floor(index / width);
      const tagAt = (tagPlane * plane + index) * tagDim;
      out.tag.set(input.tags.subarray(tagAt, tagAt + tagDim), at * tagDim);
    });
  }
  return out;
}
