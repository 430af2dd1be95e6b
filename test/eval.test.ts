import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COCO_STAT_NAMES, evaluateCoco } from '../src/eval/coco.js';
import { evaluateCrowdPose } from '../src/eval/crowdpose.js';
import { loadGroundTruth, loadResults, parseGroundTruth, parseResults, readResults, type GroundTruth, type KeypointResult } from '../src/eval/data.js';
import { EvalError } from '../src/eval/errors.js';
import { Journal } from '../src/eval/journal.js';
import { OKS_THRESHOLDS, RECALL_THRESHOLDS, oks } from '../src/eval/cocoeval.js';
import { argsortDescending, npRound, pairwiseSum } from '../src/eval/numeric.js';
import { repeatedResults, repeatedResultsWarning } from '../src/eval/repeats.js';
import { sparseCoverage } from '../src/eval/coverage.js';
import { scoredResults } from '../src/eval/scored-results.js';
import { evaluateResultsFile } from '../src/eval/benchmark.js';
import { cocoRoot, describeFixtures, fixturesRoot } from './helpers/fixtures.js';

const TOLERANCE = 1e-9;

interface ExpectedSets {
  sets: Record<string, { predictions: string; num_predictions: number; stats: Record<string, number> }>;
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** Ground-truth people that count (not crowd, with labelled joints) written as perfect predictions. */
function groundTruthAsResults(gt: GroundTruth): KeypointResult[] {
  return gt.annotations
    .filter((a) => !a.iscrowd && a.numKeypoints > 0)
    .map((a) => ({ image_id: a.imageId, category_id: a.categoryId, keypoints: [...a.keypoints], score: 1 }));
}

function expectStats(actual: Record<string, number>, expected: Record<string, number>): void {
  expect(Object.keys(actual)).to.deep.equal(Object.keys(expected));
  for (const [name, value] of Object.entries(expected)) {
    expect(actual[name], name).to.be.closeTo(value, TOLERANCE);
  }
}

describeFixtures('COCO keypoint evaluation (pycocotools parity)', 'coco', () => {
  const annotations = join(cocoRoot(), 'annotations', 'person_keypoints_val2017.json');
  if (!existsSync(annotations)) {
    it(`skipped: coco-mini not found at ${annotations} (set HIGHER_POSE_COCO)`);
    return;
  }
  const gt = loadGroundTruth(annotations, 'coco');
  const expected = readJson<ExpectedSets>(join(fixturesRoot(), 'coco', 'eval_expected.json'));
  for (const [name, set] of Object.entries(expected.sets)) {
    it(`prediction set "${name}" gives the reference statistics`, () => {
      const results = loadResults(join(fixturesRoot(), 'coco', set.predictions), gt);
      expect(results).to.have.length(set.num_predictions);
      expectStats(evaluateCoco(gt, results), set.stats);
    });
  }
  it('ground truth written as predictions scores 1 everywhere', () => {
    const stats = evaluateCoco(gt, groundTruthAsResults(gt));
    for (const name of COCO_STAT_NAMES) expect(stats[name], name).to.be.closeTo(1, 1e-12);
  });
  it('prediction sets with 30 more entries of each, read as the evaluation reads them (the 20 best of each image), score bit for bit as every entry', () => {
    const dir = mkdtempSync(join(tmpdir(), 'higher-pose-sets-'));
    try {
      for (const [name, set] of Object.entries(expected.sets)) {
        const given = loadResults(join(fixturesRoot(), 'coco', set.predictions), gt);
        const all = [...given, ...manyResults(given, 30, seeded(name.length))];
        const path = join(dir, `${name}.jsonl`);
        writeFileSync(path, all.map((r) => `${JSON.stringify(r)}\n`).join(''));
        expect(evaluateResultsFile(path, annotations), name).to.deep.equal(evaluateCoco(gt, all));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeFixtures('CrowdPose keypoint evaluation (crowdposetools parity)', 'crowdpose', () => {
  const dir = join(fixturesRoot(), 'crowdpose');
  const gt = loadGroundTruth(join(dir, 'crowdpose_val_quarter.json'), 'crowdpose');
  const expected = readJson<ExpectedSets>(join(dir, 'crowdpose_eval_expected.json'));
  for (const [name, set] of Object.entries(expected.sets)) {
    it(`prediction set "${name}" gives the reference statistics`, () => {
      const results = loadResults(join(dir, set.predictions), gt);
      expect(results).to.have.length(set.num_predictions);
      expectStats(evaluateCrowdPose(gt, results), set.stats);
    });
  }
  it('ground truth written as predictions scores 1 everywhere', () => {
    const stats = evaluateCrowdPose(gt, groundTruthAsResults(gt));
    for (const value of Object.values(stats)) expect(value).to.be.closeTo(1, 1e-12);
  });
  it('prediction sets with 6 more entries of each, read as the evaluation reads them (the 20 best of each image), score bit for bit as every entry', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'higher-pose-sets-'));
    try {
      for (const [name, set] of Object.entries(expected.sets)) {
        const given = loadResults(join(dir, set.predictions), gt);
        // Over 20 in most of its crowded images.
        const all = [...given, ...manyResults(given, 6, seeded(name.length))];
        const path = join(scratch, `${name}.jsonl`);
        writeFileSync(path, all.map((r) => `${JSON.stringify(r)}\n`).join(''));
        expect(evaluateResultsFile(path, join(dir, 'crowdpose_val_quarter.json'), 'crowdpose'), name).to.deep.equal(evaluateCrowdPose(gt, all));
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});

/** 17 labelled joints spread over a box. */
function personKeypoints(x: number, y: number, w: number, h: number): number[] {
  return Array.from({ length: 17 }, (_, j) => [x + ((j * 7) % 17) * (w / 17), y + j * (h / 17), 2]).flat();
}

/**
 * Three images: a medium person plus a crowd region, a person without labelled joints (to be
 * ignored), and a large person.
 */
function syntheticDoc(): Record<string, unknown> {
  const base = { category_id: 1, segmentation: [] };
  return {
    images: [1, 2, 3].map((id) => ({ id, file_name: `${id}.jpg`, width: 640, height: 480 })),
    categories: [{ id: 1, name: 'person' }],
    annotations: [
      { ...base, id: 10, image_id: 1, iscrowd: 0, num_keypoints: 17, area: 5000, bbox: [10, 10, 50, 100], keypoints: personKeypoints(10, 10, 50, 100) },
      { ...base, id: 11, image_id: 1, iscrowd: 1, num_keypoints: 0, area: 20000, bbox: [300, 10, 100, 200], keypoints: new Array(51).fill(0) },
      { ...base, id: 12, image_id: 2, iscrowd: 0, num_keypoints: 0, area: 3000, bbox: [100, 100, 40, 75], keypoints: new Array(51).fill(0) },
      { ...base, id: 13, image_id: 3, iscrowd: 0, num_keypoints: 17, area: 20000, bbox: [50, 50, 100, 200], keypoints: personKeypoints(50, 50, 100, 200) },
    ],
  };
}

describe('keypoint evaluation semantics', () => {
  const gt = parseGroundTruth(syntheticDoc(), 'synthetic.json', 'coco');
  const perfect = groundTruthAsResults(gt);

  it('scores perfect predictions 1 in every statistic, medium and large included', () => {
    const stats = evaluateCoco(gt, perfect);
    for (const name of COCO_STAT_NAMES) expect(stats[name], name).to.be.closeTo(1, 1e-12);
  });

  it('does not count a detection on a person without labelled joints (box-based OKS) as a false positive', () => {
    // Inside the doubled box of annotation 12 every distance is 0, so OKS is 1 and the match is
    // ignored; ranked above every true positive, a false positive would lower the precision.
    const onIgnored = { image_id: 2, category_id: 1, keypoints: personKeypoints(100, 100, 40, 75), score: 2 };
    expect(evaluateCoco(gt, [...perfect, onIgnored]).AP).to.be.closeTo(1, 1e-12);
    const elsewhere = { ...onIgnored, keypoints: personKeypoints(500, 300, 40, 75) };
    expect(evaluateCoco(gt, [...perfect, elsewhere]).AP).to.be.below(1);
  });

  it('lets several detections match one crowd region without counting them', () => {
    const inCrowd = { image_id: 1, category_id: 1, keypoints: personKeypoints(300, 10, 100, 200), score: 2 };
    // A crowd region has no labelled joints, so it is matched by box like annotation 12.
    expect(evaluateCoco(gt, [...perfect, inCrowd, { ...inCrowd, score: 3 }]).AP).to.be.closeTo(1, 1e-12);
  });

  it('evaluates only the requested images', () => {
    const onlyImage3 = evaluateCoco(gt, perfect.filter((r) => r.image_id === 3), { imageIds: [3] });
    expect(onlyImage3.AP).to.be.closeTo(1, 1e-12);
    expect(onlyImage3['AP (M)']).to.equal(-1); // no medium person in image 3: undefined, as the reference reports
    expect(evaluateCoco(gt, perfect.filter((r) => r.image_id === 3)).AR).to.be.closeTo(0.5, 1e-12);
  });

  it('gives 0 for no results at all', () => {
    expect(evaluateCoco(gt, []).AP).to.equal(0);
  });

  it('computes OKS 1 for an exact prediction and decays with distance', () => {
    const sigmas = new Array(17).fill(0.05);
    const vars = sigmas.map((s) => (s * 2) ** 2);
    const person = { id: 1, imageId: 1, categoryId: 1, keypoints: personKeypoints(0, 0, 50, 100), bbox: [0, 0, 50, 100], area: 5000, ignore: false, iscrowd: false };
    expect(oks(person, person.keypoints, vars)).to.equal(1);
    const shifted = person.keypoints.map((v, i) => (i % 3 === 0 ? v + 5 : v));
    expect(oks(person, shifted, vars)).to.be.closeTo(Math.exp(-25 / 0.01 / 5000 / 2), 1e-15);
  });
});

describe('results that name few of the images scored', () => {
  // People (not crowd, joints labelled) on images 1 and 3; image 2 has none.
  const gt = parseGroundTruth(syntheticDoc(), 'synthetic.json', 'coco');
  const perfect = groundTruthAsResults(gt);
  const ofImage = (id: number) => perfect.map((r) => ({ ...r, image_id: id })).slice(0, 1);

  it('are fewer than half of the images with people: results on each image with people (none on the one without), or on half of them, are not', () => {
    expect(sparseCoverage(gt, [1, 2, 3], perfect)).to.equal(undefined);
    expect(sparseCoverage(gt, [1, 2, 3], ofImage(3))).to.equal(undefined);
    expect(sparseCoverage(gt, [1, 2, 3], ofImage(2))).to.deep.equal({ named: 0, withPeople: 2, scored: 3, allWithinFirst: 2 });
    expect(sparseCoverage(gt, [1, 2, 3], [])).to.deep.equal({ named: 0, withPeople: 2, scored: 3 });
  });

  it('are counted over the images scored (--limit\'s first N): results of images past them name none', () => {
    expect(sparseCoverage(gt, [1, 2], ofImage(1))).to.equal(undefined);
    expect(sparseCoverage(gt, [1, 2], ofImage(3))).to.deep.equal({ named: 0, withPeople: 1, scored: 2 });
    expect(sparseCoverage(gt, [2], [])).to.equal(undefined);
  });
});

describe('results repeated exactly', () => {
  const gt = parseGroundTruth(syntheticDoc(), 'synthetic.json', 'coco');
  const perfect = groundTruthAsResults(gt);

  it('are scored as the official evaluation scores them, each a detection of its own (a file written twice scores lower)', () => {
    expect(evaluateCoco(gt, [...perfect, ...perfect]).AP).to.be.below(evaluateCoco(gt, perfect).AP);
  });

  it('are counted, with the first repeat, its image and the entry it repeats; none in distinct results', () => {
    expect(repeatedResults(perfect)).to.equal(undefined);
    expect(repeatedResults([...perfect, ...perfect])).to.deep.equal({ count: perfect.length, first: { index: perfect.length, repeats: 0, imageId: perfect[0]!.image_id } });
  });

  it('are the same image_id, category_id, keypoints and score: an entry differing in one of those by a bit is no repeat; its bbox aside, -0 as 0', () => {
    const [first] = perfect;
    const nudged = (i: number) => first!.keypoints.map((v, j) => (j === i ? v + v * Number.EPSILON : v));
    const others = [{ ...first!, score: 0.999 }, { ...first!, image_id: 2 }, { ...first!, category_id: 2 }, { ...first!, keypoints: nudged(0) }, { ...first!, keypoints: nudged(50) }];
    expect(repeatedResults([first!, ...others])).to.equal(undefined);
    expect(repeatedResults([first!, { ...first!, bbox: [0, 0, 1, 1] }])?.count).to.equal(1);
    const withZero = (zero: number) => ({ ...first!, keypoints: first!.keypoints.map((v, j) => (j === 2 ? zero : v)) });
    expect(repeatedResults([withZero(0), withZero(-0)])?.count).to.equal(1);
  });

  it('are found among entries whose hashes collide: 40,000 of a full set\'s kind, each repeated', () => {
    const distinct = Array.from({ length: 40_000 }, (_, i) => ({ image_id: 1 + (i % 4), category_id: 1, score: 0.5, keypoints: Array.from({ length: 51 }, (_, j) => (j === 0 ? i : j)) }));
    expect(repeatedResults(distinct)).to.equal(undefined);
    expect(repeatedResults([...distinct, ...distinct])?.count).to.equal(distinct.length);
  });

  it('are named in one warning, with their count and the first', () => {
    const warning = repeatedResultsWarning('res.jsonl', 10, { count: 5, first: { index: 5, repeats: 0, imageId: 397133 } });
    expect(warning).to.equal('warning: res.jsonl: 5 of its 10 results repeat an earlier one exactly (same image_id, category_id, keypoints and score; '
      + 'the first: results[5], image_id 397133, repeats results[0]). They are scored as given, each as a detection of its own, as the official evaluation scores them, '
      + 'which lowers AP (a results file written twice into one scores about half): remove the repeats unless they are meant');
  });
});

describe('evaluation arithmetic (NumPy parity)', () => {
  it('builds the thresholds as np.linspace does', () => {
    expect(Array.from(OKS_THRESHOLDS)).to.deep.equal([0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.8999999999999999, 0.95]);
    expect(RECALL_THRESHOLDS[35]).to.equal(0.35000000000000003);
    expect(RECALL_THRESHOLDS[100]).to.equal(1);
  });
  it('rounds halves to even like np.round', () => {
    expect([0.5, 1.5, 2.5, -2.5].map((x) => npRound(x, 0))).to.deep.equal([0, 2, 2, -2]);
    expect(npRound(0.88844, 4)).to.equal(0.8884);
  });
  it('sorts by descending score keeping ties in input order (mergesort)', () => {
    expect(argsortDescending([0.5, 0.9, 0.5, 0.9, 0.1])).to.deep.equal([1, 3, 0, 2, 4]);
  });
  it('sums pairwise like np.sum', () => {
    // Differs from a left-to-right sum: 1e16 swallows the 1s added one at a time.
    const values = [1e16, ...new Array(15).fill(1)];
    expect(pairwiseSum(values)).to.equal(1e16 + 14);
    expect(values.reduce((a, b) => a + b, 0)).to.equal(1e16);
  });
});

describe('evaluation input errors', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'higher-pose-eval-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const gt = () => parseGroundTruth(syntheticDoc(), 'synthetic.json', 'coco');
  const result = (): Record<string, unknown> => ({ image_id: 1, category_id: 1, keypoints: personKeypoints(10, 10, 50, 100), score: 0.5 });

  it('BAD CALL - an empty results file (nothing, or blank lines: predict --format jsonl\'s when it found nobody) holds no results, as [] does', () => {
    for (const [name, text] of [['array.json', '[]'], ['nothing.jsonl', ''], ['blank.jsonl', '\n \r\n\n']]) {
      const path = join(dir, name);
      writeFileSync(path, text);
      expect(loadResults(path, gt()), name).to.deep.equal([]);
    }
  });
  it('BAD CALL - malformed annotation JSON', () => {
    const path = join(dir, 'broken.json');
    writeFileSync(path, '{"images": [');
    expect(() => loadGroundTruth(path, 'coco')).to.throw(EvalError, /broken\.json: annotation file is not valid JSON/);
  });
  it('BAD CALL - annotation file that does not exist', () => {
    expect(() => loadGroundTruth(join(dir, 'nope.json'), 'coco')).to.throw(EvalError, /Cannot read annotation file .*nope\.json/);
  });
  it('BAD CALL - annotation without the fields the evaluation reads', () => {
    const doc = syntheticDoc();
    delete (doc.annotations as Record<string, unknown>[])[2]!.num_keypoints;
    expect(() => parseGroundTruth(doc, 'gt.json', 'coco')).to.throw(EvalError, 'gt.json: annotations[2].num_keypoints must be an integer, got nothing');
  });
  it('BAD CALL - a person with keypoints whose area (COCO) or box (CrowdPose) is empty: its OKS would be 0 for any prediction not exactly on it', () => {
    const doc = syntheticDoc();
    const annotations = doc.annotations as Record<string, unknown>[];
    // The crowd region and the person without keypoints are never scored: their areas are left as they are.
    annotations[1]!.area = 0;
    annotations[2]!.area = 0;
    expect(parseGroundTruth(doc, 'gt.json', 'coco').annotations).to.have.length(4);
    for (const area of [0, -5]) {
      annotations[3]!.area = area;
      expect(() => parseGroundTruth(doc, 'gt.json', 'coco')).to.throw(EvalError,
        `gt.json: annotations[3].area must be positive: the OKS of a person with keypoints is scaled by it, got ${area}`);
    }
    const crowdpose = syntheticDoc();
    for (const image of crowdpose.images as Record<string, unknown>[]) image.crowdIndex = 0.5;
    for (const a of crowdpose.annotations as Record<string, unknown>[]) a.keypoints = (a.keypoints as number[]).slice(0, 14 * 3);
    (crowdpose.annotations as Record<string, unknown>[])[0]!.bbox = [10, 10, 0, 100];
    expect(() => parseGroundTruth(crowdpose, 'crowdpose.json', 'crowdpose')).to.throw(EvalError,
      'crowdpose.json: annotations[0].bbox must have a positive width and height: the CrowdPose OKS of a person with keypoints is scaled by its area, got 0 x 100');
  });
  it('BAD CALL - COCO annotations loaded as CrowdPose say so', () => {
    expect(() => parseGroundTruth(syntheticDoc(), 'gt.json', 'crowdpose')).to.throw(EvalError,
      "gt.json: annotations[0].keypoints has 51 values, expected 42 (14 joints x 3 for crowdpose); these look like COCO annotations (17 keypoints): evaluate them as dataset 'coco' (--dataset coco)");
  });
  it('BAD CALL - CrowdPose annotations loaded as COCO say so; without crowd indices they are refused as CrowdPose', () => {
    const doc = syntheticDoc();
    for (const a of doc.annotations as Record<string, unknown>[]) {
      a.keypoints = (a.keypoints as number[]).slice(0, 14 * 3);
      delete a.area;
    }
    expect(() => parseGroundTruth(doc, 'crowdpose.json', 'coco')).to.throw(EvalError,
      "crowdpose.json: annotations[0].keypoints has 42 values, expected 51 (17 joints x 3 for coco); these look like CrowdPose annotations (14 keypoints): evaluate them as dataset 'crowdpose' (--dataset crowdpose)");
    expect(() => parseGroundTruth(doc, 'crowdpose.json', 'crowdpose')).to.throw(EvalError, /crowdpose\.json: images\[0\]\.crowdIndex is missing: the CrowdPose evaluation needs each image's crowd index/);
    for (const image of doc.images as Record<string, unknown>[]) image.crowdIndex = 0.5;
    expect(parseGroundTruth(doc, 'crowdpose.json', 'crowdpose').numJoints).to.equal(14);
  });
  it('BAD CALL - a keypoint count of neither dataset gives no hint', () => {
    const doc = syntheticDoc();
    (doc.annotations as Record<string, unknown>[])[0]!.keypoints = new Array(30).fill(1);
    expect(() => parseGroundTruth(doc, 'gt.json', 'coco')).to.throw(EvalError, /^gt\.json: annotations\[0\]\.keypoints has 30 values, expected 51 \(17 joints x 3 for coco\)$/);
  });
  it('BAD CALL - an annotation file of another COCO task (instances, captions, test-dev image info): named as such, with the keypoint file to give', () => {
    const instances = syntheticDoc();
    for (const a of instances.annotations as Record<string, unknown>[]) {
      delete a.keypoints;
      delete a.num_keypoints;
    }
    expect(() => parseGroundTruth(instances, 'instances_val2017.json', 'coco')).to.throw(EvalError,
      /^instances_val2017\.json: annotations\[0\] has no keypoints, as an instances file's \(segmentation without keypoints\): this is no keypoint annotation file; give COCO's person_keypoints_val2017\.json$/);
    const captions = { images: syntheticDoc().images, annotations: [{ id: 1, image_id: 1, caption: 'A man riding a horse.' }] };
    expect(() => parseGroundTruth(captions, 'captions_val2017.json', 'coco')).to.throw(EvalError,
      /^captions_val2017\.json: annotations\[0\] has no keypoints, as a captions file's: this is no keypoint annotation file; give COCO's person_keypoints_val2017\.json$/);
    expect(() => parseGroundTruth(captions, 'captions.json', 'crowdpose')).to.throw(EvalError, /give CrowdPose's crowdpose_val\.json$/);
    const imageInfo = { images: syntheticDoc().images, categories: syntheticDoc().categories };
    expect(() => parseGroundTruth(imageInfo, 'image_info_test-dev2017.json', 'coco')).to.throw(EvalError,
      /^image_info_test-dev2017\.json: lists images but no annotations, as an image info file \(test-dev's ground truth is not published\): this is no keypoint annotation file; give COCO's person_keypoints_val2017\.json$/);
  });
  it('BAD CALL - an annotation file that lists no image: nothing to evaluate', () => {
    expect(() => parseGroundTruth({ images: [], annotations: [], categories: [] }, 'empty.json', 'coco')).to.throw(EvalError, 'empty.json: images lists no image: there is nothing to evaluate');
  });
  it('BAD CALL - duplicate annotation ids', () => {
    const doc = syntheticDoc();
    (doc.annotations as Record<string, unknown>[])[1]!.id = 10;
    expect(() => parseGroundTruth(doc, 'gt.json', 'coco')).to.throw(EvalError, 'gt.json: annotations[1].id 10 is a duplicate');
  });
  it('BAD CALL - results for unknown image ids', () => {
    expect(() => parseResults([result(), { ...result(), image_id: 999 }], 'res.json', gt()))
      .to.throw(EvalError, 'res.json: results[1].image_id 999 is not an image of synthetic.json');
  });
  it('BAD CALL - results of a folder holding unannotated images too: refused, counting them all and their images, not only the first', () => {
    const results = [result(), { ...result(), image_id: 999 }, { ...result(), image_id: 998 }, { ...result(), image_id: 999 }];
    const message = 'res.json: results[1].image_id 999 is not an image of synthetic.json; 3 of the 4 results name 2 image(s) outside it (999, 998): '
      + 'the evaluation scores results of its images only, so leave the others out';
    expect(() => parseResults(results, 'res.json', gt())).to.throw(EvalError, message);
    const path = join(dir, 'unannotated.jsonl');
    writeFileSync(path, results.map((r) => JSON.stringify(r)).join('\n'));
    expect(() => loadResults(path, gt())).to.throw(EvalError, message.replace('res.json', path));
  });
  it('BAD CALL - results of unannotated images are checked and counted as they are read, not given on to be kept (each image\'s 20 best, until the refusal): an endless pipe of them holds no more memory', () => {
    const unknown = Array.from({ length: 50 }, (_, i) => ({ ...result(), image_id: 1000 + (i % 10), score: i / 50 }));
    const path = join(dir, 'mostly-unannotated.jsonl');
    writeFileSync(path, [result(), ...unknown, { ...result(), image_id: 3 }].map((r) => JSON.stringify(r)).join('\n'));
    const given: number[] = [];
    const read = () => {
      for (const entry of readResults(path, gt())) given.push(entry.image_id);
    };
    expect(read).to.throw(EvalError, `${path}: results[1].image_id 1000 is not an image of synthetic.json; 50 of the 52 results name 10 image(s) outside it `
      + '(1000, 1001, 1002, 1003, 1004, … 5 more): the evaluation scores results of its images only, so leave the others out');
    expect(given).to.deep.equal([1, 3]);
    // Checked all the same: a malformed entry of an unannotated image is named where it is.
    writeFileSync(path, [result(), { ...result(), image_id: 1000, score: 'high' }].map((r) => JSON.stringify(r)).join('\n'));
    expect(() => loadResults(path, gt())).to.throw(EvalError, `${path}: results[1].score must be a finite number, got "high"`);
  });
  it('BAD CALL - results naming over 100,000 unannotated images: their ids are counted up to 100,000, the refusal saying "over" that many', function () {
    this.timeout(60_000);
    const path = join(dir, 'unannotated-folder.jsonl');
    // Short lines (joints at 0): 100,003 of them to read.
    const line = (imageId: number) => `${JSON.stringify({ ...result(), image_id: imageId, keypoints: new Array(51).fill(0) })}\n`;
    writeFileSync(path, Array.from({ length: 100_003 }, (_, i) => line(i < 2 ? 1 : 1000 + i)).join(''));
    expect(() => loadResults(path, gt())).to.throw(EvalError, `${path}: results[2].image_id 1002 is not an image of synthetic.json; 100001 of the 100003 results name `
      + 'over 100000 image(s) outside it (1002, 1003, 1004, 1005, 1006, … over 99995 more)');
  });
  it('BAD CALL - results with the wrong keypoint count', () => {
    expect(() => parseResults([{ ...result(), keypoints: new Array(42).fill(1) }], 'res.json', gt()))
      .to.throw(EvalError, 'res.json: results[0].keypoints has 42 values, expected 51 (17 joints x 3 for coco)');
  });
  it('BAD CALL - NaN in results', () => {
    const keypoints = personKeypoints(10, 10, 50, 100);
    keypoints[7] = NaN;
    expect(() => parseResults([{ ...result(), keypoints }], 'res.json', gt()))
      .to.throw(EvalError, 'res.json: results[0].keypoints[7] must be a finite number, got NaN');
    expect(() => parseResults([{ ...result(), score: NaN }], 'res.json', gt()))
      .to.throw(EvalError, 'res.json: results[0].score must be a finite number, got NaN');
  });
  it('BAD CALL - NaN written by Python into a results file', () => {
    const path = join(dir, 'nan.json');
    writeFileSync(path, '[{"image_id": 1, "category_id": 1, "keypoints": [NaN], "score": 1}]');
    expect(() => loadResults(path, gt())).to.throw(EvalError, /nan\.json: results file is not valid JSON/);
  });
  it('BAD CALL - the annotation file given as the results (on one line, as COCO\'s are, or laid out): named as such', () => {
    for (const [name, text] of [['one-line.json', JSON.stringify(syntheticDoc())], ['laid-out.json', JSON.stringify(syntheticDoc(), null, 2)]]) {
      const path = join(dir, name!);
      writeFileSync(path, text!);
      expect(() => loadResults(path, gt()), name).to.throw(EvalError, `${path} is an annotation file (it has images and annotations), not results: give it as --annotations, and as --results a JSON array or JSON Lines of {image_id, category_id, keypoints, score}`);
    }
  });
  it('BAD CALL - a results file given as the annotations (a JSON array, JSON Lines, one line of them): named as such, with what to give', () => {
    const entries = [result(), { ...result(), image_id: 3 }];
    const message = (path: string, keypointFile: string) => `${path} is a results file (entries of {image_id, category_id, keypoints, score}), not annotations: `
      + `give it as --results, and as --annotations ${keypointFile}`;
    for (const [name, text] of [['array.json', JSON.stringify(entries)], ['lines.jsonl', entries.map((r) => JSON.stringify(r)).join('\n')], ['one.jsonl', `${JSON.stringify(result())}\n`]]) {
      const path = join(dir, name!);
      writeFileSync(path, text!);
      expect(() => loadGroundTruth(path, 'coco'), name).to.throw(EvalError, message(path, "COCO's person_keypoints_val2017.json"));
      expect(() => loadGroundTruth(path, 'crowdpose'), name).to.throw(EvalError, message(path, "CrowdPose's crowdpose_val.json"));
    }
  });
  it('BAD CALL - eval\'s resume journal given as the results (scoring a run in progress): named as such, with what to give instead', async () => {
    const path = join(dir, 'results.json.journal');
    const { journal } = await Journal.open(path, { annotationsSha256: 'a'.repeat(64), dataset: 'coco', settings: {} });
    await journal.append({ imageId: 1, status: 'ok', ms: 10, results: [result() as unknown as KeypointResult] });
    await journal.close();
    // Was 'results[0].image_id must be an integer, got nothing' (the journal's header line).
    expect(() => loadResults(path, gt())).to.throw(EvalError, `${path} is the resume journal of an eval run, not results: give as --results the results file that run writes when it ends (its --out, results.json by default); to finish the run, run its eval command again`);
  });
  it('BAD CALL - results that are not a list', () => {
    expect(() => parseResults({ image_id: 1 }, 'res.json', gt())).to.throw(EvalError, /res\.json: results must be an array/);
  });
  it('BAD CALL - unknown category', () => {
    expect(() => parseResults([{ ...result(), category_id: 2 }], 'res.json', gt()))
      .to.throw(EvalError, 'res.json: results[0].category_id 2 is not a category of synthetic.json');
  });
  it('BAD CALL - CrowdPose evaluation of COCO ground truth', () => {
    expect(() => evaluateCrowdPose(gt(), [])).to.throw(EvalError, /loaded as coco ground truth; the crowdpose evaluation needs crowdpose ground truth/);
  });
  it('BAD CALL - evaluating an image outside the ground truth', () => {
    expect(() => evaluateCoco(gt(), [], { imageIds: [1, 42] })).to.throw(EvalError, 'Image id 42 is not an image of synthetic.json');
  });
});

/** A deterministic stream of numbers in [0, 1) (mulberry32), for results that vary but repeat run to run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/**
 * `perCase` results for each of `cases` (entries of the ground truth with a score, as a person found
 * there), near them or far off, sized over the area ranges; scores from few values (ties), in no order.
 */
function manyResults(cases: readonly KeypointResult[], perCase: number, random: () => number): KeypointResult[] {
  const results = cases.flatMap((c) => Array.from({ length: perCase }, () => {
    const spread = [0.5, 4, 40][Math.floor(random() * 3)]!;
    const scale = 0.3 + random() * 1.5;
    const [x0, y0] = [c.keypoints[0]!, c.keypoints[1]!];
    const keypoints = c.keypoints.map((v, j) => (j % 3 === 2 ? v : (j % 3 === 0 ? x0 : y0) + (v - (j % 3 === 0 ? x0 : y0)) * scale + (random() - 0.5) * spread));
    return { ...c, keypoints, score: Math.floor(random() * 6) / 5 };
  }));
  for (let i = results.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [results[i], results[j]] = [results[j]!, results[i]!];
  }
  return results;
}

describe('results kept as the evaluation reads them: the 20 best of each image, ties in the order read', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'higher-pose-scored-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const gt = parseGroundTruth(syntheticDoc(), 'synthetic.json', 'coco');
  const annotations = () => {
    const path = join(dir, 'synthetic.json');
    writeFileSync(path, JSON.stringify(syntheticDoc()));
    return path;
  };
  const jsonl = (name: string, results: readonly unknown[]) => {
    const path = join(dir, name);
    writeFileSync(path, results.map((r) => `${JSON.stringify(r)}\n`).join(''));
    return path;
  };

  it('score bit for bit as every entry: 60 an image, 6 scores among them, unsorted, on people of every area range', () => {
    for (const seed of [1, 2, 3]) {
      const all = manyResults(groundTruthAsResults(gt), 60, seeded(seed));
      const { results, indices, total } = scoredResults(all);
      expect(total).to.equal(all.length);
      // Images 1 and 3 have a person with keypoints: 20 kept of each one's 60.
      expect(results).to.have.length(40);
      expect(results).to.deep.equal(indices.map((i) => all[i]));
      expect(evaluateCoco(gt, results), `seed ${seed}`).to.deep.equal(evaluateCoco(gt, all));
      expect(evaluateResultsFile(jsonl(`many-${seed}.jsonl`, all), annotations()), `seed ${seed}`).to.deep.equal(evaluateCoco(gt, all));
    }
  });

  it('keep of tied scores those read first, as a stable sort does', () => {
    const [person] = groundTruthAsResults(gt);
    const tied = Array.from({ length: 30 }, (_, i) => ({ ...person!, keypoints: person!.keypoints.map((v) => v + i), score: i < 5 ? 0.5 : 0.25 }));
    expect(scoredResults(tied).indices).to.deep.equal([...Array(20).keys()]);
    expect(scoredResults([...tied].reverse()).indices).to.deep.equal([...Array(30).keys()].filter((i) => i < 15 || i >= 25));
  });

  it('take areas from keypoints when the first entry has no bbox, though those kept have one (the reference overwrites them)', () => {
    const [person] = groundTruthAsResults(gt);
    // Boxes of area 1 would leave each unmatched detection out of the medium and large ranges.
    const boxed = manyResults([person!], 40, seeded(4)).map((r) => ({ ...r, score: r.score + 1, bbox: [0, 0, 1, 1] }));
    const path = jsonl('first-unboxed.jsonl', [{ ...person!, score: 0 }, ...boxed]);
    const all = loadResults(path, gt);
    expect(evaluateResultsFile(path, annotations())).to.deep.equal(evaluateCoco(gt, all));
    expect(all.every((r) => r.bbox === undefined)).to.equal(true);
    expect(evaluateCoco(gt, all)).to.not.deep.equal(evaluateCoco(gt, [{ ...person!, score: 0, bbox: [0, 0, 1, 1] }, ...boxed]));
  });

  it('count the repeats among those read, naming the first by its place in the file', () => {
    const [person] = groundTruthAsResults(gt);
    const distinct = Array.from({ length: 25 }, (_, i) => ({ ...person!, score: (i + 1) / 25 }));
    const path = jsonl('twice.jsonl', [...distinct, ...distinct]);
    const warnings: string[] = [];
    evaluateResultsFile(path, annotations(), 'coco', undefined, (w) => warnings.push(w));
    // The 20 best: the 10 highest scores, each twice; the first repeat is of entry 15 (score 16/25).
    expect(warnings[0]).to.match(/^warning: .*twice\.jsonl: 10 of the 20 results the evaluation reads \(each image's 20 best, of its 50\) repeat an earlier one exactly .*the first: results\[40\], image_id 1, repeats results\[15\]\)/);
  });
});

describe('results piped in without end', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'higher-pose-piped-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('are scored in memory bounded by the images: 300,000 entries through a pipe, in a heap of 64 MB, score as the 20 best of each image', async function () {
    this.timeout(60_000);
    const annotations = join(dir, 'synthetic.json');
    writeFileSync(annotations, JSON.stringify(syntheticDoc()));
    const perfect = groundTruthAsResults(parseGroundTruth(syntheticDoc(), 'synthetic.json', 'coco'));
    // Each person found first, then ever more entries far off, scored lower: AP 1 when every one is read as the reference reads it.
    const far = { ...perfect[0]!, keypoints: perfect[0]!.keypoints.map((v, j) => (j % 3 === 2 ? v : v + 5000)), score: 0.5 };
    const entries = function* () {
      yield* perfect.map((r) => `${JSON.stringify(r)}\n`);
      const lines = [1, 2, 3].map((image_id) => `${JSON.stringify({ ...far, image_id })}\n`).join('');
      for (let i = 0; i < 100_000; i++) yield lines;
    };
    const fifo = join(dir, 'results.fifo');
    execFileSync('mkfifo', [fifo]);
    const script = `import('./src/eval/benchmark.ts').then((m) => console.log(JSON.stringify(m.evaluateResultsFile(${JSON.stringify(fifo)}, ${JSON.stringify(annotations)}))))`;
    const child = spawn(process.execPath, ['--max-old-space-size=64', '--import', 'tsx', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    const writer = createWriteStream(fifo);
    try {
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      // A child that dies of its memory stops reading: its pipe breaks.
      writer.on('error', () => {});
      Readable.from(entries()).pipe(writer);
      const [status] = (await once(child, 'close')) as [number | null];
      expect(status, stderr.slice(-500)).to.equal(0);
      const stats = JSON.parse(stdout) as Record<string, number>;
      for (const name of COCO_STAT_NAMES) expect(stats[name], name).to.be.closeTo(1, 1e-12);
    } finally {
      child.kill('SIGKILL');
      writer.destroy();
    }
  });
});
