/**
 * Sub-pixel adjustment and refinement of grouped people (reference `HeatmapParser.adjust` and
 * `HeatmapParser.refine`). A person is J rows `[x, y, score, tag...]` in heatmap pixels.
 */
import { float32MeanVector, roundHalfEven } from './numeric.js';

const f32 = Math.fround;

/** Heatmaps `[J, H, W]` and tag maps `[T, H, W, K]` (T = J, or 1 when shared by all joints). */
export interface Maps {
  det: Float32Array;
  numJoints: number;
  height: number;
  width: number;
  tags: Float32Array;
  tagChannels: number;
  tagDim: number;
}

/**
 * The ±0.25 rule: a quarter pixel towards the larger of the two horizontal neighbours (left
 * on a tie), the same vertically, then +0.5 to the pixel centre. Indices are clamped at the
 * border and the position truncated to integers first, as the reference does.
 */
function quarterOffset(det: Float32Array, base: number, width: number, height: number, col: number, row: number): [number, number] {
  const right = det[base + row * width + Math.min(col + 1, width - 1)];
  const left = det[base + row * width + Math.max(col - 1, 0)];
  const below = det[base + Math.min(row + 1, height - 1) * width + col];
  const above = det[base + Math.max(row - 1, 0) * width + col];
  return [col + (right > left ? 0.25 : -0.25) + 0.5, row + (below > above ? 0.25 : -0.25) + 0.5];
}

/** `adjust`: moves every detected joint (score > 0) of every person by the ±0.25 rule. */
export function adjustPeople(people: number[][][], maps: Maps): void {
  const plane = maps.height * maps.width;
  for (const person of people) {
    person.forEach((joint, j) => {
      if (!(joint[2] > 0)) return;
      const [x, y] = quarterOffset(maps.det, j * plane, maps.width, maps.height, Math.trunc(joint[0]), Math.trunc(joint[1]));
      joint[0] = x;
      joint[1] = y;
    });
  }
}

/**
 * `refine` for one person: every undetected joint (score 0) is placed at the maximum of its
 * heatmap minus the rounded distance to the person's mean tag (first maximum in row-major
 * order, as `np.argmax`), offset by the ±0.25 rule, when the heatmap value there is positive.
 * The mean tag is read at the detected joints' truncated positions. Tags of added joints stay 0.
 */
export function refinePerson(person: number[][], maps: Maps): void {
  const { det, width, height, tags, tagDim } = maps;
  const plane = height * width;
  const tagPlane = (j: number): number => (maps.tagChannels === 1 ? 0 : j) * plane;
  const detected: Float32Array[] = [];
  person.forEach((joint, j) => {
    if (!(joint[2] > 0)) return;
    const at = (tagPlane(j) + Math.trunc(joint[1]) * width + Math.trunc(joint[0])) * tagDim;
    detected.push(tags.slice(at, at + tagDim));
  });
  if (detected.length === 0) return;
  const meanTag = float32MeanVector(detected);
  person.forEach((joint, j) => {
    if (joint[2] !== 0) return;
    const base = j * plane;
    const tagBase = tagPlane(j);
    let best = -1;
    let bestValue = -Infinity;
    for (let p = 0; p < plane; p++) {
      // det - round(distance) never exceeds det, so a position whose det cannot beat the
      // current best is skipped without changing the (first) maximum.
      if (best >= 0 && !(det[base + p] > bestValue)) continue;
      // ((tag - mean) ** 2).sum(axis=2) ** 0.5 in float32, then det - np.round(distance).
      let sq = 0;
      for (let d = 0; d < tagDim; d++) {
        const diff = f32(tags[(tagBase + p) * tagDim + d] - meanTag[d]);
        sq = f32(sq + f32(diff * diff));
      }
      const score = f32(det[base + p] - roundHalfEven(f32(Math.sqrt(sq))));
      if (best < 0 || score > bestValue) {
        best = p;
        bestValue = score;
      }
    }
    const col = best % width;
    const row = Math.floor(best / width);
    const value = det[base + best];
    if (!(value > 0)) return;
    const [x, y] = quarterOffset(det, base, width, height, col, row);
    joint[0] = x;
    joint[1] = y;
    joint[2] = value;
  });
}
