/**
 * Network outputs shaped like a trained HigherHRNet's, for timing the post-processing on what it
 * meets in use: random weights give maps without peaks (the worst case, see README, Speed).
 *
 * People are planted at deterministic random places: each visible joint a Gaussian peak in its
 * heatmap (at both output resolutions), its tag map holding the person's tag around the
 * joint, low noise elsewhere. The mirrored input's outputs are the plain ones mirrored and
 * permuted with the flip index (a flip-equivariant network), with their own noise.
 */
import ndarray from 'ndarray';
import { seededRandom } from '../src/model/weights.js';
import type { OutputTensor } from '../src/types.js';

interface PlantedJoint {
  /** Position as a fraction of the width and height. */
  x: number;
  y: number;
  peak: number;
}

interface PlantedPerson {
  tag: number;
  joints: (PlantedJoint | null)[];
}

/** `count` people with `numJoints` joints each, 85% of them visible. */
function plantPeople(count: number, numJoints: number, random: () => number): PlantedPerson[] {
  return Array.from({ length: count }, (_, p) => {
    const [cx, cy, size] = [0.1 + 0.8 * random(), 0.15 + 0.7 * random(), 0.08 + 0.12 * random()];
    return {
      tag: 2 * p - count + 0.3 * random(),
      joints: Array.from({ length: numJoints }, () =>
        random() < 0.85 ? { x: cx + size * (random() - 0.5), y: cy + 2 * size * (random() - 0.5), peak: 0.4 + 0.5 * random() } : null,
      ),
    };
  });
}

/**
 * One output `[1, C, h, w]`: channels [0, J) heatmaps, [J, 2J) (when `withTags`) tag maps.
 * With `flipIndex`, the people are mirrored and joint j drawn in channel `flipIndex[j]`: the
 * answer of a flip-equivariant network to the mirrored input.
 */
function render(people: PlantedPerson[], numJoints: number, h: number, w: number, withTags: boolean, flipIndex: readonly number[] | null, random: () => number): OutputTensor {
  const channels = withTags ? 2 * numJoints : numJoints;
  const data = new Float32Array(channels * h * w);
  for (let i = 0; i < data.length; i++) data[i] = 0.02 * (random() - 0.5);
  const sigma = Math.max(1, w / 176) * 2;
  const reach = Math.ceil(3 * sigma);
  for (const person of people) {
    person.joints.forEach((joint, j) => {
      if (!joint) return;
      const channel = flipIndex ? flipIndex[j] : j;
      const jx = (flipIndex ? 1 - joint.x : joint.x) * w;
      const jy = joint.y * h;
      for (let y = Math.max(0, Math.floor(jy - reach)); y <= Math.min(h - 1, Math.ceil(jy + reach)); y++) {
        for (let x = Math.max(0, Math.floor(jx - reach)); x <= Math.min(w - 1, Math.ceil(jx + reach)); x++) {
          const d2 = (x - jx) ** 2 + (y - jy) ** 2;
          const at = (channel * h + y) * w + x;
          data[at] = Math.max(data[at], joint.peak * Math.exp(-d2 / (2 * sigma * sigma)));
          if (withTags) data[((numJoints + channel) * h + y) * w + x] = person.tag + 0.05 * (random() - 0.5);
        }
      }
    });
  }
  return ndarray(data, [1, channels, h, w]);
}

/**
 * Plain and mirrored outputs for a network input of `width` x `height`: `[1, 2J, H/4, W/4]`
 * and `[1, J, H/2, W/2]` each.
 */
export function plantedOutputs(width: number, height: number, numJoints: number, flipIndex: readonly number[], people = 12, seed = 7): { outputs: OutputTensor[]; flipped: OutputTensor[] } {
  const random = seededRandom(seed);
  const planted = plantPeople(people, numJoints, random);
  const pass = (mirror: boolean): OutputTensor[] => [
    render(planted, numJoints, height / 4, width / 4, true, mirror ? flipIndex : null, random),
    render(planted, numJoints, height / 2, width / 2, false, mirror ? flipIndex : null, random),
  ];
  return { outputs: pass(false), flipped: pass(true) };
}
