/**
 * Results entries that repeat an earlier one exactly. The official evaluation scores each as a
 * detection of its own (pycocotools keeps them), so they must stay; but a results file appended
 * to twice (a jsonl run written into the same file again) halves AP without a word, so the
 * evaluation names them.
 */
import { MAX_DETS } from './cocoeval.js';
import type { KeypointResult } from './data.js';

/** Results entries that repeat an earlier one: how many, and the first. */
export interface RepeatedResults {
  count: number;
  /** Index of the first repeat, the entry it repeats, and their image. */
  first: { index: number; repeats: number; imageId: number };
}

const bits = new Float64Array(1);
const words = new Uint32Array(bits.buffer);

/** `hash` with the 32-bit `word` mixed in (MurmurHash3's step). */
function mixedWord(hash: number, word: number): number {
  const h = Math.imul(hash ^ word, 0xcc9e2d51);
  return Math.imul(h ^ (h >>> 15), 0x1b873593);
}

/** `hash` with the 64 bits of `value` mixed in; -0 as 0, as they compare equal. */
function mixed(hash: number, value: number): number {
  bits[0] = value + 0;
  return mixedWord(mixedWord(hash, words[0]!), words[1]!);
}

/** A hash of the numbers an exact repeat shares (its bbox aside), in 30 bits: small integers, which a Map keys on fastest. */
function entryHash(r: KeypointResult): number {
  let hash = mixed(mixed(mixed(0, r.image_id), r.category_id), r.score);
  for (const v of r.keypoints) hash = mixed(hash, v);
  return (hash ^ (hash >>> 16)) >>> 2;
}

function sameEntry(a: KeypointResult, b: KeypointResult): boolean {
  return a.image_id === b.image_id && a.category_id === b.category_id && a.score === b.score
    && a.keypoints.length === b.keypoints.length && a.keypoints.every((v, i) => v === b.keypoints[i]);
}

/**
 * The entries with the image_id, category_id, keypoints and score of an earlier one; undefined
 * when there are none. One pass over hashes (linear probing on the hash for entries that share
 * one): a number per distinct entry is held, not the entries' text.
 */
export function repeatedResults(results: readonly KeypointResult[]): RepeatedResults | undefined {
  const firstAt = new Map<number, number>();
  let found: RepeatedResults | undefined;
  results.forEach((result, index) => {
    for (let key = entryHash(result); ; key++) {
      const earlier = firstAt.get(key);
      if (earlier === undefined) {
        firstAt.set(key, index);
        return;
      }
      if (sameEntry(results[earlier]!, result)) {
        if (found) found.count++;
        else found = { count: 1, first: { index, repeats: earlier, imageId: result.image_id } };
        return;
      }
    }
  });
  return found;
}

/** `repeats` found among results kept of a file: the indices of the first and what it repeats, among the file's (`indices`, each kept one's). */
export function inFileOrder(repeats: RepeatedResults, indices: readonly number[]): RepeatedResults {
  const { index, repeats: earlier, imageId } = repeats.first;
  return { count: repeats.count, first: { index: indices[index]!, repeats: indices[earlier]!, imageId } };
}

/**
 * The warning for `repeats` among the `scored` results (the evaluation reads each image's 20 best)
 * of the `total` of `source`: once, with a count and an example.
 */
export function repeatedResultsWarning(source: string, total: number, repeats: RepeatedResults, scored = total): string {
  const { index, repeats: earlier, imageId } = repeats.first;
  const among = scored === total ? `of its ${total} results` : `of the ${scored} results the evaluation reads (each image's ${MAX_DETS} best, of its ${total})`;
  return `warning: ${source}: ${repeats.count} ${among} repeat an earlier one exactly (same image_id, category_id, keypoints and score; `
    + `the first: results[${index}], image_id ${imageId}, repeats results[${earlier}]). They are scored as given, each as a detection of its own, `
    + 'as the official evaluation scores them, which lowers AP (a results file written twice into one scores about half): remove the repeats unless they are meant';
}
