/**
 * The results entries the official evaluation reads. COCOeval (and crowdposetools) sorts each
 * image's detections of a category by descending score, stably, and reads only the first
 * `maxDets` (20): for OKS, matching, area ranges and the precision curve alike. Keeping those as
 * the entries are read scores bit for bit as keeping every entry, in memory bounded by the
 * images: a results file or pipe of any length is scored (`eval --results -`).
 */
import { MAX_DETS } from './cocoeval.js';
import type { KeypointResult } from './data.js';

/** What of a results stream the evaluation reads. */
export interface ScoredResults {
  /** The entries the evaluation reads, in the order read. */
  results: KeypointResult[];
  /** Each kept entry's index among all the entries read. */
  indices: number[];
  /** How many entries were read. */
  total: number;
}

interface Kept {
  result: KeypointResult;
  index: number;
}

/**
 * The entry of `kept` (full) that a stable descending sort places last: the lowest score, the
 * latest read of those that share it.
 */
function weakest(kept: readonly Kept[]): number {
  let at = 0;
  for (let i = 1; i < kept.length; i++) if (kept[i]!.result.score <= kept[at]!.result.score) at = i;
  return at;
}

/**
 * The entries of `entries` that a stable descending sort by score places among the first
 * `maxDets` of their image and category, as they are read: an entry that ranks above the weakest
 * kept (a higher score; an equal one, read later, ranks below) takes its place.
 */
export function scoredResults(entries: Iterable<KeypointResult>, maxDets = MAX_DETS): ScoredResults {
  const groups = new Map<string, Kept[]>();
  let total = 0;
  for (const result of entries) {
    const index = total++;
    const key = `${result.image_id}/${result.category_id}`;
    const kept = groups.get(key);
    if (!kept) {
      groups.set(key, [{ result, index }]);
    } else if (kept.length < maxDets) {
      kept.push({ result, index });
    } else {
      const at = weakest(kept);
      if (result.score <= kept[at]!.result.score) continue;
      // Read last, the new entry goes last: each group stays in the order read.
      kept.splice(at, 1);
      kept.push({ result, index });
    }
  }
  const all = [...groups.values()].flat().sort((a, b) => a.index - b.index);
  return { results: all.map((k) => k.result), indices: all.map((k) => k.index), total };
}
