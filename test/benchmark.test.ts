import { expect } from 'chai';
import { Command, CommanderError } from 'commander';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { registerEval } from '../src/cli/commands/eval.js';
import type { EstimatorOptions } from '../src/estimator.js';
import { evaluateResultsFile, formatStatsTable, runBenchmark, type BenchmarkOptions, type BenchmarkProgress } from '../src/eval/benchmark.js';
import { COCO_STAT_NAMES, type CocoStats } from '../src/eval/coco.js';
import { loadGroundTruth, loadResults, type GroundTruth } from '../src/eval/data.js';
import { EvalError } from '../src/eval/errors.js';
import { ConfigError } from '../src/config/experiment.js';
import { COCO_KEYPOINTS } from '../src/datasets.js';
import type { Person } from '../src/types.js';
import { cocoRoot, describeFixtures, fixturesRoot } from './helpers/fixtures.js';
import { withPipedOnce } from './helpers/piped.js';
import { isCollected } from './helpers/gc.js';
import { TINY_COCO_CHECKPOINT } from '../src/paths.js';
import { readImage } from '../src/io/image.js';

/** The error a promise rejects with (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

/** Asserts that `promise` rejects with `type` and a message matching `message`. */
async function expectRejects(promise: Promise<unknown>, type: new (...args: never[]) => Error, message: string | RegExp): Promise<void> {
  const error = await rejection(promise);
  expect(error).to.be.instanceOf(type);
  if (typeof message === 'string') expect(error.message).to.equal(message);
  else expect(error.message).to.match(message);
}

/** The ground-truth people that count, as an estimator would return them (joint score 1 where labelled). */
function groundTruthPeople(gt: GroundTruth, imageId: number): Person[] {
  return gt.annotations
    .filter((a) => a.imageId === imageId && !a.iscrowd && a.numKeypoints > 0)
    .map((a) => {
      const keypoints = COCO_KEYPOINTS.names.map((name, j) => ({ name, x: a.keypoints[3 * j]!, y: a.keypoints[3 * j + 1]!, score: a.keypoints[3 * j + 2]! > 0 ? 1 : 0 }));
      const [x, y, width, height] = a.bbox;
      return { score: 1, keypoints, box: { xMin: x, yMin: y, xMax: x + width, yMax: y + height, width, height } };
    });
}

/** A fake estimator over `gt` that counts its calls per image and can stop the run after `abortAfter` images. */
function fakeEstimator(gt: GroundTruth, abortAfter?: { count: number; controller: AbortController }) {
  const calls: number[] = [];
  const estimate = async (_path: string, imageId: number): Promise<Person[]> => {
    calls.push(imageId);
    if (abortAfter && calls.length === abortAfter.count) abortAfter.controller.abort();
    return groundTruthPeople(gt, imageId);
  };
  return { calls, estimate };
}

function personKeypoints(x: number, y: number): number[] {
  return Array.from({ length: 17 }, (_, j) => [x + (j % 5) * 10, y + j * 10, 2]).flat();
}

/** Three images 1..3; image files are created for 1 and 2 only. */
function syntheticSetup(dir: string): string {
  const annotations = join(dir, 'gt.json');
  writeFileSync(annotations, JSON.stringify({
    images: [3, 1, 2].map((id) => ({ id, file_name: `${id}.jpg` })),
    categories: [{ id: 1, name: 'person' }],
    annotations: [1, 2, 3].map((id) => ({
      id: 100 + id, image_id: id, category_id: 1, iscrowd: 0, num_keypoints: 17, area: 8000, bbox: [10 * id, 10, 50, 170], keypoints: personKeypoints(10 * id, 10),
    })),
  }));
  mkdirImages(dir, ['1.jpg', '2.jpg']);
  return annotations;
}

function mkdirImages(dir: string, names: string[]): void {
  for (const name of names) writeFileSync(join(dir, name), 'not really a jpeg');
}

describe('benchmark runner', () => {
  let dir: string;
  let annotations: string;
  let gt: GroundTruth;
  const options = (extra: Partial<BenchmarkOptions> = {}): BenchmarkOptions => ({
    imagesDir: dir,
    annotations,
    estimate: fakeEstimator(gt).estimate,
    journalPath: join(dir, 'out', 'results.json.journal'),
    outPath: join(dir, 'out', 'results.json'),
    ...extra,
  });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'higher-pose-bench-'));
    annotations = syntheticSetup(dir);
    gt = loadGroundTruth(annotations, 'coco');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('estimates every image in id order, writes the results and records missing and failing images', async () => {
    const seen: number[] = [];
    const report = await runBenchmark(options({
      estimate: async (path, imageId) => {
        seen.push(imageId);
        if (imageId === 2) throw new Error('corrupt JPEG');
        expect(path).to.equal(join(dir, `${imageId}.jpg`));
        return groundTruthPeople(gt, imageId);
      },
    }));
    expect(seen).to.deep.equal([1, 2]);
    expect(report.missing).to.deep.equal([{ imageId: 3, file: '3.jpg', error: `${join(dir, '3.jpg')} does not exist` }]);
    // As predict reports it: the error's type and message, the image named once.
    expect(report.failed).to.deep.equal([{ imageId: 2, file: '2.jpg', error: `${join(dir, '2.jpg')}: Error: corrupt JPEG` }]);
    expect(report).to.include({ images: 3, estimated: 3, resumed: 0, people: 1 });
    expect((report.stats as CocoStats).AR).to.be.closeTo(1 / 3, 1e-12); // one person of three found
    const written = loadResults(report.resultsPath, gt);
    expect(written).to.have.length(1);
    expect(written[0]).to.include({ image_id: 1, category_id: 1, score: 1 });
    expect(written[0]!.keypoints.slice(0, 3)).to.deep.equal([10, 10, 1]);
    expect(existsSync(options().journalPath)).to.equal(false);
  });

  it('BAD CALL - no image could be estimated: an EvalError, no results file', async () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    await expectRejects(runBenchmark(options({ imagesDir: empty })), EvalError, `None of the 3 images could be estimated (is ${empty} the folder of the annotated images?); the first: ${join(empty, '1.jpg')} does not exist`);
    expect(existsSync(options().outPath)).to.equal(false);
    expect(existsSync(options().journalPath)).to.equal(false);
    mkdirImages(dir, ['3.jpg']);
    const failing = async (): Promise<Person[]> => {
      throw new Error('output 0 has 34 channels');
    };
    // The first failure as predict reports it: the image named, then the error's type and message.
    await expectRejects(runBenchmark(options({ estimate: failing })), EvalError, `None of the 3 images could be estimated; the first: ${join(dir, '1.jpg')}: Error: output 0 has 34 channels`);
  });

  it('resumes an interrupted run without redoing finished images, giving the same bytes', async () => {
    mkdirImages(dir, ['3.jpg']);
    await runBenchmark(options({ outPath: join(dir, 'straight.json'), journalPath: join(dir, 'straight.journal') }));
    const controller = new AbortController();
    const first = fakeEstimator(gt, { count: 2, controller });
    const interrupted = runBenchmark(options({ estimate: first.estimate, signal: controller.signal }));
    await rejection(interrupted);
    expect(first.calls).to.deep.equal([1, 2]);
    const second = fakeEstimator(gt);
    const report = await runBenchmark(options({ estimate: second.estimate }));
    expect(second.calls).to.deep.equal([3]);
    expect(report).to.include({ estimated: 1, resumed: 2 });
    expect(readFileSync(options().outPath)).to.deep.equal(readFileSync(join(dir, 'straight.json')));
  });

  it('keeps the journal of a longer stopped run when a run with --limit completes, and that run then resumes', async () => {
    mkdirImages(dir, ['3.jpg']);
    const controller = new AbortController();
    const first = fakeEstimator(gt, { count: 2, controller });
    await rejection(runBenchmark(options({ estimate: first.estimate, signal: controller.signal })));
    const limited = fakeEstimator(gt);
    const quick = await runBenchmark(options({ estimate: limited.estimate, limit: 1 }));
    expect(limited.calls).to.deep.equal([]);
    expect(quick).to.include({ resumed: 1, journaledBeyond: 1 });
    expect(existsSync(options().journalPath)).to.equal(true);
    const full = fakeEstimator(gt);
    const report = await runBenchmark(options({ estimate: full.estimate }));
    expect(full.calls).to.deep.equal([3]);
    expect(report).to.include({ resumed: 2, journaledBeyond: 0 });
    expect(existsSync(options().journalPath)).to.equal(false);
  });

  it('with two images in flight, journals and writes what one at a time does, in id order', async () => {
    mkdirImages(dir, ['3.jpg']);
    await runBenchmark(options({ outPath: join(dir, 'straight.json'), journalPath: join(dir, 'straight.journal') }));
    let running = 0;
    let most = 0;
    const order: number[] = [];
    const report = await runBenchmark(options({
      imagesInFlight: 2,
      // Image 1 is the slowest: 2 (and then 3) finish first.
      estimate: async (_path, imageId) => {
        most = Math.max(most, ++running);
        await new Promise((resolve) => setTimeout(resolve, imageId === 1 ? 40 : 5));
        running--;
        return groundTruthPeople(gt, imageId);
      },
      onProgress: (p) => order.push(p.imageId),
    }));
    expect(most).to.equal(2);
    expect(order).to.deep.equal([1, 2, 3]);
    expect(report).to.include({ estimated: 3, people: 3 });
    expect(readFileSync(options().outPath)).to.deep.equal(readFileSync(join(dir, 'straight.json')));
    await expectRejects(runBenchmark(options({ imagesInFlight: 0 })), EvalError, 'imagesInFlight must be an integer from 1 to 64 (images estimated at once, each holding its buffers), got 0');
    await expectRejects(runBenchmark(options({ imagesInFlight: 1e9 })), EvalError, 'imagesInFlight must be an integer from 1 to 64 (images estimated at once, each holding its buffers), got 1000000000');
  });

  it('stops at an abort with images in flight, journaling those started', async () => {
    mkdirImages(dir, ['3.jpg']);
    const controller = new AbortController();
    // Aborted by image 2's estimate, which started while image 1's was in flight.
    const first = fakeEstimator(gt, { count: 2, controller });
    await rejection(runBenchmark(options({ estimate: first.estimate, signal: controller.signal, imagesInFlight: 2 })));
    expect(first.calls).to.deep.equal([1, 2]);
    const second = fakeEstimator(gt);
    expect(await runBenchmark(options({ estimate: second.estimate }))).to.include({ resumed: 2, estimated: 1 });
    expect(second.calls).to.deep.equal([3]);
  });

  it('says when no image is left to start (as the last one starts, or at once when the journal holds them all): a stop from then on lets the run complete', async () => {
    mkdirImages(dir, ['3.jpg']);
    const events: string[] = [];
    const told = (extra: Partial<BenchmarkOptions>) => options({
      onEveryImageStarted: () => events.push('every image started'),
      onEstimated: () => events.push('estimated'),
      ...extra,
    });
    // Image 2's estimate stops the run: image 3 is left to start.
    const controller = new AbortController();
    await rejection(runBenchmark(told({ estimate: fakeEstimator(gt, { count: 2, controller }).estimate, signal: controller.signal })));
    expect(events).to.deep.equal([]);
    // --limit 1, its image journaled: none to start, so a run stopped before it began completes.
    expect(await runBenchmark(told({ limit: 1, signal: AbortSignal.abort() }))).to.include({ resumed: 1, estimated: 0 });
    expect(events.splice(0)).to.deep.equal(['every image started', 'estimated']);
    // Image 3 left: said as it starts, and a stop as it is estimated lets it finish and the results be written.
    const resumed = new AbortController();
    const report = await runBenchmark(told({
      signal: resumed.signal,
      estimate: async (_path, imageId) => {
        events.push(`estimate ${imageId}`);
        resumed.abort();
        return groundTruthPeople(gt, imageId);
      },
    }));
    expect(events).to.deep.equal(['every image started', 'estimate 3', 'estimated']);
    expect(report).to.include({ resumed: 2, estimated: 1 });
  });

  it('an estimate that honours the stop, rejecting with its reason: the run is stopped, the image not recorded as failed', async () => {
    const controller = new AbortController();
    // Image 1 is held until the stop, which image 2's estimate makes: every image has started.
    const estimate = async (_path: string, imageId: number): Promise<Person[]> => {
      if (imageId === 2) {
        controller.abort();
        return groundTruthPeople(gt, imageId);
      }
      await new Promise((resolve) => controller.signal.addEventListener('abort', resolve, { once: true }));
      throw controller.signal.reason;
    };
    const error = await rejection(runBenchmark(options({ estimate, signal: controller.signal, imagesInFlight: 2, limit: 2 })));
    expect(error).to.equal(controller.signal.reason);
    expect(existsSync(options().outPath)).to.equal(false);
  });

  it('tries images that failed again when resuming', async () => {
    const controller = new AbortController();
    const first = fakeEstimator(gt);
    const failing = async (path: string, imageId: number) => {
      await first.estimate(path, imageId);
      if (imageId === 2) throw new Error('disk hiccup');
      return groundTruthPeople(gt, imageId);
    };
    // Stop once image 2's failure is in the journal.
    const onProgress = (p: BenchmarkProgress) => p.imageId === 2 && controller.abort();
    await rejection(runBenchmark(options({ estimate: failing, signal: controller.signal, onProgress })));
    const second = fakeEstimator(gt);
    const report = await runBenchmark(options({ estimate: second.estimate }));
    expect(first.calls).to.deep.equal([1, 2]);
    expect(second.calls).to.deep.equal([2]);
    expect(report).to.include({ resumed: 1, estimated: 2, people: 2 });
    expect(report.failed).to.deep.equal([]);
  });

  it('drops a journal line the previous run did not finish writing', async () => {
    const controller = new AbortController();
    const first = fakeEstimator(gt, { count: 1, controller });
    await runBenchmark(options({ estimate: first.estimate, signal: controller.signal })).catch(() => undefined);
    appendFileSync(options().journalPath, '{"imageId":2,"status":"ok","ms":1,"resu');
    const second = fakeEstimator(gt);
    await runBenchmark(options({ estimate: second.estimate }));
    expect(second.calls).to.deep.equal([2]);
  });

  it('evaluates only the first images with --limit', async () => {
    const report = await runBenchmark(options({ limit: 1 }));
    expect(report.images).to.equal(1);
    expect((report.stats as CocoStats).AP).to.be.closeTo(1, 1e-12);
  });

  it('scores a results file in --results mode', async () => {
    const report = await runBenchmark(options());
    expect(evaluateResultsFile(report.resultsPath, annotations, 'coco')).to.deep.equal(report.stats);
    // A run with --limit scored again with the same limit: the same images, the same figures.
    const limited = await runBenchmark(options({ limit: 2, outPath: join(dir, 'limited.json'), journalPath: join(dir, 'limited.journal') }));
    expect(evaluateResultsFile(limited.resultsPath, annotations, 'coco', 2)).to.deep.equal(limited.stats);
    expect(evaluateResultsFile(limited.resultsPath, annotations, 'coco')).to.not.deep.equal(limited.stats);
  });

  it('BAD CALL - a journal written for other settings', async () => {
    const controller = new AbortController();
    const first = fakeEstimator(gt, { count: 1, controller });
    await runBenchmark(options({ estimate: first.estimate, signal: controller.signal, settings: { flip: true } })).catch(() => undefined);
    await expectRejects(runBenchmark(options({ settings: { flip: false } })), EvalError, /results\.json\.journal is the journal of a different run/);
  });

  it('BAD CALL - a journal of another annotation file or other settings: refused, naming what differs', async () => {
    const controller = new AbortController();
    const first = fakeEstimator(gt, { count: 1, controller });
    await rejection(runBenchmark(options({ estimate: first.estimate, signal: controller.signal, settings: { flipTest: true, scales: [1] } })));
    const journal = options().journalPath;
    await expectRejects(runBenchmark(options({ settings: { flipTest: false, scales: [1] } })), EvalError,
      `${journal} is the journal of a different run (other estimator settings: flipTest (the journal's true, now false)); run with the settings it was written with to resume it, or delete it or choose another journal path`);
    // Was '(other estimator settings: detectionThreshold); delete it or choose another journal path': neither the value to give again nor that it resumes the run.
    await expectRejects(runBenchmark(options({ settings: { flipTest: true, scales: [1], detectionThreshold: 0.2 } })), EvalError,
      `${journal} is the journal of a different run (other estimator settings: detectionThreshold (the journal's not given, now 0.2)); run with the settings it was written with to resume it, or delete it or choose another journal path`);
    await expectRejects(runBenchmark(options({ settings: { flipTest: true, scales: [2, 1, 0.5], sha256: { weights: 'a'.repeat(64) } } })), EvalError,
      `${journal} is the journal of a different run (other estimator settings: scales (the journal's [1], now [2,1,0.5]), sha256); run with the settings it was written with to resume it, or delete it or choose another journal path`);
    writeFileSync(annotations, readFileSync(annotations, 'utf8').replace('"2.jpg"', '"2b.jpg"'));
    await expectRejects(runBenchmark(options({ settings: { flipTest: true, scales: [1] } })), EvalError,
      `${journal} is the journal of a different run (another annotation file, or this one changed since); delete it or choose another journal path`);
  });

  it('BAD CALL - results, journal and annotations that are one file: refused before any work, the annotations untouched', async () => {
    const before = readFileSync(annotations);
    const { calls, estimate } = fakeEstimator(gt);
    await expectRejects(runBenchmark(options({ estimate, outPath: annotations })), EvalError, `the annotation file and the results file are one file (${annotations}); give each its own path`);
    // Written and then deleted with the journal, the results would be lost.
    await expectRejects(runBenchmark(options({ estimate, journalPath: options().outPath })), EvalError, /^the results file and the journal are one file/);
    symlinkSync(annotations, join(dir, 'link.json'));
    await expectRejects(runBenchmark(options({ estimate, journalPath: join(dir, 'link.json') })), EvalError, /^the annotation file and the journal are one file/);
    expect(calls).to.deep.equal([]);
    expect(readFileSync(annotations)).to.deep.equal(before);
    expect(existsSync(options().outPath)).to.equal(false);
  });

  it('BAD CALL - a journal path naming a file that is no journal: refused, the file untouched', async () => {
    // One line without a newline, like a COCO annotation file: it was taken for a header cut short and replaced.
    const other = join(dir, 'gt-copy.json');
    copyFileSync(annotations, other);
    await expectRejects(runBenchmark(options({ journalPath: other })), EvalError, `${other} is not an eval journal (it holds other data, left untouched); choose another journal path`);
    expect(readFileSync(other)).to.deep.equal(readFileSync(annotations));
    // A header cut short is a journal still, begun again.
    mkdirSync(join(dir, 'out'));
    writeFileSync(options().journalPath, '{"format":"higher-');
    expect((await runBenchmark(options())).resumed).to.equal(0);
  });

  it('writes people under the annotation file\'s only category when it is not 1, as HigherHRNet does; with no person category, refuses before estimating', async () => {
    const withCategories = (ids: number[]) => {
      const doc = JSON.parse(readFileSync(annotations, 'utf8')) as { categories: { id: number }[]; annotations: { category_id: number }[] };
      doc.categories = ids.map((id) => ({ id }));
      for (const a of doc.annotations) a.category_id = ids[0]!;
      writeFileSync(annotations, JSON.stringify(doc));
    };
    mkdirImages(dir, ['3.jpg']);
    withCategories([0]);
    const report = await runBenchmark(options());
    expect((report.stats as CocoStats).AP).to.be.closeTo(1, 1e-12);
    expect(new Set(loadResults(report.resultsPath, loadGroundTruth(annotations, 'coco')).map((r) => r.category_id))).to.deep.equal(new Set([0]));
    withCategories([2, 3]);
    const { calls, estimate } = fakeEstimator(gt);
    await expectRejects(runBenchmark(options({ estimate, outPath: join(dir, 'none.json') })), EvalError,
      `${annotations}: categories 2, 3 hold no person category: people are written as category 1, or as the file's only category`);
    expect(calls).to.deep.equal([]);
  });

  it('BAD CALL - an estimator returning the wrong number of keypoints', async () => {
    const estimate = async () => [{ ...groundTruthPeople(gt, 1)[0]!, keypoints: groundTruthPeople(gt, 1)[0]!.keypoints.slice(0, 14) }];
    await expectRejects(runBenchmark(options({ estimate })), EvalError, 'estimate returned a person with 14 keypoints for image 1; the dataset has 17 joints');
  });

  it('BAD CALL - an estimator returning NaN', async () => {
    const estimate = async () => [{ ...groundTruthPeople(gt, 1)[0]!, score: NaN }];
    await expectRejects(runBenchmark(options({ estimate })), EvalError, 'estimate returned a person with a non-finite value (NaN) for image 1');
  });

  it('BAD CALL - a limit that is not a positive integer', async () => {
    await expectRejects(runBenchmark(options({ limit: 0 })), EvalError, 'limit must be a positive integer, got 0');
  });

  it('formats the statistics in the paper layout', () => {
    const stats = Object.fromEntries(COCO_STAT_NAMES.map((n, i) => [n, i === 3 ? -1 : 0.671 - i / 100])) as CocoStats;
    expect(formatStatsTable(stats).split('\n')).to.deep.equal([
      '|   AP | AP50 | AP75 | APM |  APL |   AR | AR50 | AR75 |  ARM |  ARL |',
      '| ---- | ---- | ---- | --- | ---- | ---- | ---- | ---- | ---- | ---- |',
      '| 67.1 | 66.1 | 65.1 |   - | 63.1 | 62.1 | 61.1 | 60.1 | 59.1 | 58.1 |',
    ]);
  });
});

describeFixtures('benchmark on coco-mini', 'coco', () => {
  const annotations = join(cocoRoot(), 'annotations', 'person_keypoints_val2017.json');
  const imagesDir = join(cocoRoot(), 'val2017');
  if (!existsSync(annotations)) {
    it(`skipped: coco-mini not found at ${annotations} (set HIGHER_POSE_COCO)`);
    return;
  }
  const gt = loadGroundTruth(annotations, 'coco');
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'higher-pose-coco-mini-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const run = (name: string, extra: Partial<BenchmarkOptions>) =>
    runBenchmark({ imagesDir, annotations, estimate: fakeEstimator(gt).estimate, journalPath: join(dir, `${name}.journal`), outPath: join(dir, `${name}.json`), ...extra });

  it('completes with a ground-truth estimator, writes a valid results file and scores AP 1', async () => {
    const fake = fakeEstimator(gt);
    const report = await run('full', { estimate: fake.estimate });
    expect(fake.calls).to.deep.equal(gt.images.map((im) => im.id).sort((a, b) => a - b));
    expect(report).to.include({ images: 79, people: 68 });
    expect(report.missing).to.deep.equal([]);
    expect(loadResults(report.resultsPath, gt)).to.have.length(68);
    for (const name of COCO_STAT_NAMES) expect((report.stats as CocoStats)[name], name).to.be.closeTo(1, 1e-12);
    expect(formatStatsTable(report.stats)).to.contain('| 100.0 |');
  });

  it('interrupted halfway, finishes on restart without redoing images and writes identical bytes', async () => {
    await run('straight', {});
    const controller = new AbortController();
    const first = fakeEstimator(gt, { count: 40, controller });
    await rejection(run('resumed', { estimate: first.estimate, signal: controller.signal }));
    const second = fakeEstimator(gt);
    const report = await run('resumed', { estimate: second.estimate });
    expect(first.calls).to.have.length(40);
    expect(second.calls).to.have.length(39);
    expect(new Set([...first.calls, ...second.calls]).size).to.equal(79);
    expect(report).to.include({ resumed: 40, estimated: 39 });
    expect(readFileSync(join(dir, 'resumed.json'))).to.deep.equal(readFileSync(join(dir, 'straight.json')));
  });

  describe('higher-pose eval', () => {
    /** The second image with people, where a stopped run's `cli(stopAt)` stops (the first is journaled). */
    const stopImage = () => [...gt.images].filter((im) => gt.annotations.some((a) => a.imageId === im.id && a.numKeypoints > 0)).sort((a, b) => a.id - b.id)[1]!;

    /** A resumed run's summary: some of the ten images resumed, the run's time of those estimated now, the mean over all (the journal's times too). */
    function expectResumed(err: string[]): void {
      expect(err.join('')).to.match(/10 images \(\d+ estimated, [1-9]\d* resumed\)/);
      expect(err.join('')).to.match(/\ntime: \d+\.\d s for the \d+ estimated now; \d+\.\d ms per image, the [1-9]\d* resumed as their first run timed them\n/);
    }

    /**
     * The eval command over a ground-truth estimator; at image `stopAt` it returns a malformed person, which stops the run as a crash would.
     * `onCreated` runs once the estimator has its weights.
     */
    function cli(stopAt?: number, onCreated?: () => void) {
      const out: string[] = [];
      const err: string[] = [];
      const created: EstimatorOptions[] = [];
      let disposed = 0;
      const byFile = new Map(gt.images.map((im) => [im.fileName, im.id]));
      const program = new Command().exitOverride().configureOutput({ writeOut: (s) => out.push(s), writeErr: (s) => err.push(s) });
      registerEval(program, {
        createEstimator: async (opts) => {
          created.push(opts);
          // Reads its weights as the estimator does: a piped --weights is then empty for any later reader.
          if (typeof opts.weights === 'string' && existsSync(opts.weights)) readFileSync(opts.weights);
          onCreated?.();
          const estimatePoses = async (path: unknown) => {
            const id = byFile.get(basename(path as string))!;
            return id === stopAt ? [{ ...groundTruthPeople(gt, id)[0]!, keypoints: [] }] : groundTruthPeople(gt, id);
          };
          return { estimatePoses, dispose: async () => void disposed++ };
        },
      });
      const parse = (args: string[]) => program.parseAsync(['eval', ...args], { from: 'user' });
      return { out, err, created, parse, disposed: () => disposed };
    }

    it('runs the benchmark and prints the table, timing and the estimator it asked for', async () => {
      const c = cli();
      const outPath = join(dir, 'cli.json');
      await c.parse(['--images', imagesDir, '--annotations', annotations, '--out', outPath, '--limit', '10', '--preset', 'tiny_coco', '--weights', 'w.pth', '--no-flip', '--scales', '2,1,0.5']);
      expect(c.created).to.have.length(1);
      expect(c.created[0]).to.deep.include({ preset: 'tiny_coco', weights: 'w.pth', flipTest: false, scales: [2, 1, 0.5], exifOrientation: false });
      expect(c.disposed()).to.equal(1);
      expect(c.out.join('')).to.match(/^\|\s+AP \|\s+AP50 \|\s+AP75 \|\s+APM \|\s+APL \|\s+AR \|/);
      expect(c.err.join('')).to.match(/coco: 10 images \(10 estimated, 0 resumed\), \d+ people/).and.match(/\ntime: \d+\.\d s, \d+\.\d ms per image\n/);
      expect(c.err.join('')).to.match(/eval \|.*\| 10\/10 images/);
      expect(loadResults(outPath, gt).length).to.be.greaterThan(0);
    });

    it('BAD CALL - a corrupt image is reported as predict reports it (its error\'s type, the image named once), after its id', async () => {
      const some = join(dir, 'corrupt-images');
      mkdirSync(some);
      const [first, second] = [...gt.images].sort((a, b) => a.id - b.id);
      copyFileSync(join(imagesDir, first!.fileName), join(some, first!.fileName));
      writeFileSync(join(some, second!.fileName), 'not an image');
      const err: string[] = [];
      const program = new Command().exitOverride().configureOutput({ writeOut: () => {}, writeErr: (text) => err.push(text) });
      // The image read as the estimator reads it; the people of the ground truth.
      const byFile = new Map(gt.images.map((im) => [im.fileName, im.id]));
      registerEval(program, { createEstimator: async () => ({
        estimatePoses: async (path: unknown) => readImage(path as string).then(() => groundTruthPeople(gt, byFile.get(basename(path as string))!)),
        dispose: async () => {},
      }) });
      const saved = process.exitCode;
      try {
        await program.parseAsync(['eval', '--images', some, '--annotations', annotations, '--out', join(dir, 'corrupt.json'), '--limit', '2', '--preset', 'tiny_coco', '--weights', 'w.pth'], { from: 'user' });
        expect(process.exitCode).to.equal(1);
      } finally {
        process.exitCode = saved;
      }
      const corrupt = join(some, second!.fileName);
      expect(err.join('')).to.contain(`failed: 1 image(s), scored as finding nobody\n  id ${second!.id}: ImageError: ${corrupt}: not an image format that can be decoded`);
    });

    it('exits with 1 when an image is missing, after scoring the others', async () => {
      const some = join(dir, 'some-images');
      mkdirSync(some);
      const [first, second] = [...gt.images].sort((a, b) => a.id - b.id);
      copyFileSync(join(imagesDir, first!.fileName), join(some, first!.fileName));
      const c = cli();
      const saved = process.exitCode;
      try {
        process.exitCode = undefined;
        await c.parse(['--images', some, '--annotations', annotations, '--out', join(dir, 'some.json'), '--limit', '2', '--preset', 'tiny_coco', '--weights', 'w.pth']);
        expect(process.exitCode).to.equal(1);
      } finally {
        process.exitCode = saved;
      }
      expect(c.err.join('')).to.contain(`missing: 1 image(s), scored as finding nobody\n  id ${second!.id}: ${join(some, second!.fileName)} does not exist\n`);
      expect(c.err.join('')).to.contain('coco: 2 images (1 estimated, 0 resumed, 1 missing), ');
      expect(existsSync(join(dir, 'some.json'))).to.equal(true);
    });

    it('scores an existing results file with --results', async () => {
      const report = await run('existing', { limit: 5 });
      const c = cli();
      await c.parse(['--results', report.resultsPath, '--annotations', annotations]);
      expect(c.created).to.have.length(0);
      expect(c.out.join('')).to.equal(`${formatStatsTable(evaluateResultsFile(report.resultsPath, annotations))}\n`);
    });

    it('scores a results file written twice (jsonl appended again) as given, as the official evaluation does, warning once on stderr with the count and the first repeat', async () => {
      const report = await run('twice', { limit: 5 });
      const once = loadResults(report.resultsPath, gt);
      const lines = once.map((r) => `${JSON.stringify(r)}\n`).join('');
      const twice = join(dir, 'twice.jsonl');
      writeFileSync(twice, lines + lines);
      const c = cli();
      // --limit 5: results of the first 5 images scored over all would be warned about too.
      await c.parse(['--results', twice, '--annotations', annotations, '--limit', '5']);
      expect(c.out.join('')).to.equal(`${formatStatsTable(evaluateResultsFile(twice, annotations, 'coco', 5))}\n`);
      expect(c.err).to.deep.equal([`warning: ${twice}: ${once.length} of its ${2 * once.length} results repeat an earlier one exactly (same image_id, category_id, keypoints and score; `
        + `the first: results[${once.length}], image_id ${once[0]!.image_id}, repeats results[0]). They are scored as given, each as a detection of its own, as the official evaluation scores them, `
        + 'which lowers AP (a results file written twice into one scores about half): remove the repeats unless they are meant\n']);
      const single = cli();
      await single.parse(['--results', report.resultsPath, '--annotations', annotations, '--limit', '5']);
      expect(single.err).to.deep.equal([]);
    });

    it('BAD CALL - results of the first 8 of the 79 images scored over all 79: the official numbers, and one warning of how many images with people they name, pointing to --limit; none with --limit 8, nor for a complete run that found nobody on the images without people', async () => {
      const partial = await run('partial', { limit: 8 });
      const c = cli();
      await c.parse(['--results', partial.resultsPath, '--annotations', annotations]);
      expect(c.out.join('')).to.equal(`${formatStatsTable(evaluateResultsFile(partial.resultsPath, annotations))}\n`);
      // Two of the first 8 images have people, the 1st and the 7th.
      expect(c.err).to.deep.equal([`warning: ${partial.resultsPath} names 2 of the 32 images with people annotated (of 79 scored): the images it does not name count as images where nobody was found, `
        + 'as the official evaluation scores them, which lowers AP and AR. If it holds the results of the first N images by id only, give --limit N to score those alone (its results are all among the first 7)\n']);
      const limited = cli();
      await limited.parse(['--results', partial.resultsPath, '--annotations', annotations, '--limit', '8']);
      expect(limited.err).to.deep.equal([]);
      // People in the 32 images with any, none in the other 47.
      const full = await run('full', {});
      const complete = cli();
      await complete.parse(['--results', full.resultsPath, '--annotations', annotations]);
      expect(complete.err).to.deep.equal([]);
      expect(complete.out.join('')).to.contain('| 100.0 |');
    });

    it('BAD CALL - an empty results file (0 bytes, or blank lines: predict --format jsonl finding nobody) is scored as [] is, no one found, with the warning that it names none of the images', async () => {
      const scored = (text: string, name: string) => {
        const path = join(dir, name);
        writeFileSync(path, text);
        const c = cli();
        return c.parse(['--results', path, '--annotations', annotations]).then(() => ({ out: c.out.join(''), err: c.err.join('').replaceAll(path, 'RESULTS') }));
      };
      const none = await scored('[]', 'none.json');
      expect(none.err).to.equal('warning: RESULTS names none of the 32 images with people annotated (of 79 scored): the images it does not name count as images where nobody was found, '
        + 'as the official evaluation scores them, which lowers AP and AR. If it holds the results of some images only, estimate every image (eval --images runs the model over them all)\n');
      for (const [text, name] of [['', 'nothing.jsonl'], ['\n\n', 'blank.jsonl']]) expect(await scored(text, name), name).to.deep.equal(none);
    });

    it('BAD CALL - model options with --results, which runs no model: a usage error naming them, nothing scored', async () => {
      const report = await run('scored', { limit: 5 });
      const c = cli();
      const error = await rejection(c.parse(['--results', report.resultsPath, '--annotations', annotations, '--preset', 'tiny_coco', '--weights', 'w.pth', '--no-flip', '--out', join(dir, 'x.json')]));
      expect(error).to.be.instanceOf(CommanderError).and.include({ exitCode: 2 });
      expect(error.message).to.equal('error: --preset, --weights, --no-flip, --out cannot be used with --results, which scores an existing results file without running a model (it reads --annotations, --dataset and --limit)');
      expect(c.out.join('')).to.equal('');
      expect(c.created).to.have.length(0);
      // What scoring reads is accepted.
      await cli().parse(['--results', report.resultsPath, '--annotations', annotations, '--dataset', 'coco', '--limit', '5']);
    });

    it('BAD CALL - neither --images nor --results', async () => {
      const c = cli();
      await expectRejects(c.parse(['--annotations', annotations]), CommanderError, /eval needs --images DIR \(or --results FILE/);
      expect(c.err.join('')).to.contain('error: eval needs --images DIR');
    });

    it('BAD CALL - an --out that cannot be written is refused before the estimator is made', async () => {
      const c = cli();
      const folder = join(dir, 'out-folder');
      mkdirSync(folder);
      await expectRejects(c.parse(['--images', imagesDir, '--annotations', annotations, '--out', folder, '--preset', 'tiny_coco', '--weights', 'w.pth']), ConfigError, /--out .*out-folder: is a folder; give a file name/);
      expect(c.created).to.have.length(0);
    });

    it('BAD CALL - a journal that cannot be written (--journal, or <out>.journal, a folder) is refused before the estimator is made', async () => {
      const folder = join(dir, 'journal-folder');
      mkdirSync(folder);
      const model = ['--images', imagesDir, '--annotations', annotations, '--preset', 'tiny_coco', '--weights', 'w.pth'];
      // Was 'Cannot read journal ...: EISDIR: illegal operation on a directory, read', once the model was made.
      const given = cli();
      await expectRejects(given.parse([...model, '--out', join(dir, 'journaled.json'), '--journal', folder]), ConfigError, /^--journal .*journal-folder: is a folder; give a file name for the output$/);
      expect(given.created).to.have.length(0);
      mkdirSync(join(dir, 'default.json.journal'));
      const byDefault = cli();
      await expectRejects(byDefault.parse([...model, '--out', join(dir, 'default.json')]), ConfigError, /^the journal .*default\.json\.journal: is a folder; give a file name for the output$/);
      expect(byDefault.created).to.have.length(0);
    });

    it('BAD CALL - an --out that is the annotation file is refused before the estimator is made', async () => {
      const c = cli();
      const copy = join(dir, 'gt.json');
      copyFileSync(annotations, copy);
      await expectRejects(c.parse(['--images', imagesDir, '--annotations', copy, '--out', copy, '--preset', 'tiny_coco', '--weights', 'w.pth']), EvalError, /the annotation file and the results file are one file/);
      expect(c.created).to.have.length(0);
      expect(readFileSync(copy)).to.deep.equal(readFileSync(annotations));
    });

    it('BAD CALL - a --dataset the model is not for is refused before the estimator is made, as a usage error (exit 2), leaving no journal', async () => {
      const c = cli();
      const out = join(dir, 'other-dataset.json');
      const error = await rejection(c.parse(['--images', imagesDir, '--annotations', annotations, '--out', out, '--dataset', 'crowdpose', '--preset', 'tiny_coco', '--weights', 'w.pth']));
      expect(error).to.be.instanceOf(CommanderError).with.property('exitCode', 2);
      expect(error.message).to.match(/--dataset crowdpose: the model \(preset tiny_coco\) is a coco model, with 17 joints; evaluate it as --dataset coco/);
      expect(c.created).to.have.length(0);
      expect(existsSync(`${out}.journal`)).to.equal(false);
    });

    it('BAD CALL - annotations of the other dataset than the model\'s: refused as that mismatch before the estimator is made', async () => {
      const c = cli();
      await expectRejects(c.parse(['--images', imagesDir, '--annotations', annotations, '--out', join(dir, 'cp.json'), '--preset', 'tiny_crowdpose', '--weights', 'w.pth']), EvalError,
        `${annotations} holds coco annotations, and the model (preset tiny_crowdpose) is a crowdpose model: evaluate a coco model on them, or this one on crowdpose annotations`);
      expect(c.created).to.have.length(0);
    });

    it('BAD CALL - weights or a configuration changed under the same name since a stopped run: its journal is refused, not mixed in', async () => {
      const weights = join(dir, 'w.pth');
      const config = join(dir, 'model.yaml');
      writeFileSync(config, readFileSync(join(fixturesRoot(), 'configs', 'tiny_coco.yaml')));
      const out = join(dir, 'changed.json');
      const args = ['--images', imagesDir, '--annotations', annotations, '--out', out, '--limit', '10', '--config', config, '--weights', weights];
      const stopped = async () => {
        writeFileSync(weights, 'first weights');
        rmSync(`${out}.journal`, { force: true });
        await expectRejects(cli(stopImage().id).parse(args), EvalError, /with 0 keypoints/);
        expect(existsSync(`${out}.journal`)).to.equal(true);
      };
      await stopped();
      writeFileSync(weights, 'other weights');
      await expectRejects(cli().parse(args), EvalError, /changed\.json\.journal is the journal of a different run/);
      await stopped();
      writeFileSync(config, readFileSync(config, 'utf8').replace(/FLIP_TEST: \w+/, 'FLIP_TEST: false'));
      await expectRejects(cli().parse(args), EvalError, /changed\.json\.journal is the journal of a different run/);
      // Unchanged files: the run resumes.
      await stopped();
      const resumed = cli();
      await resumed.parse(args);
      expectResumed(resumed.err);
    });

    it('resumes a stopped run whose settings differ only where they cannot change its results (--threads, --max-pixels, the weights\' path), and a journal an earlier version wrote with those in it', async () => {
      const weights = join(dir, 'w.pth');
      const moved = join(dir, 'elsewhere', 'w.pth');
      writeFileSync(weights, 'weights');
      mkdirSync(dirname(moved));
      copyFileSync(weights, moved);
      const out = join(dir, 'threads.json');
      const journal = `${out}.journal`;
      const run = ['--images', imagesDir, '--annotations', annotations, '--out', out, '--limit', '10', '--preset', 'tiny_coco'];
      const stopped = async () => {
        rmSync(journal, { force: true });
        await expectRejects(cli(stopImage().id).parse([...run, '--weights', weights, '--threads', '2', '--max-pixels', '100000000']), EvalError, /with 0 keypoints/);
      };
      // Another machine: other cores, no bound on pixels, the weights in another folder. Was refused as 'other estimator settings: weights, threads (...), maxPixels (...)'.
      const elsewhere = [...run, '--weights', moved, '--threads', '4'];
      await stopped();
      /** The journal's header line, its settings, and the rest of it. */
      const read = () => {
        const [header, ...entries] = readFileSync(journal, 'utf8').split('\n');
        const { settings, ...rest } = JSON.parse(header!) as { settings: Record<string, unknown> };
        return { settings, rest, entries };
      };
      expect(Object.keys(read().settings)).to.deep.equal(['preset', 'exifOrientation', 'sha256']);
      const resumed = cli();
      await resumed.parse(elsewhere);
      expectResumed(resumed.err);
      // The header as the version before wrote it, every setting in it.
      await stopped();
      const { settings: { preset, exifOrientation, sha256 }, rest, entries } = read();
      writeFileSync(journal, [JSON.stringify({ ...rest, settings: { preset, weights, threads: 2, maxPixels: 100_000_000, exifOrientation, sha256 } }), ...entries].join('\n'));
      // A setting that changes the people found still makes another run, the others not named.
      await expectRejects(cli().parse([...elsewhere, '--detection-threshold', '0.2']), EvalError,
        `${journal} is the journal of a different run (other estimator settings: detectionThreshold (the journal's not given, now 0.2)); run with the settings it was written with to resume it, or delete it or choose another journal path`);
      const resumedOld = cli();
      await resumedOld.parse(elsewhere);
      expectResumed(resumedOld.err);
    });

    it('BAD CALL - weights replaced while the model loads: the journal is keyed on the weights run, which eval reads once and hands to the estimator', async () => {
      const weights = join(dir, 'replaced.pth');
      const out = join(dir, 'replaced.json');
      const args = ['--images', imagesDir, '--annotations', annotations, '--out', out, '--limit', '10', '--preset', 'tiny_coco', '--weights', weights];
      writeFileSync(weights, 'weights A');
      // Another process (a fetch, a copy) replaces the file once the estimator has loaded it.
      const first = cli(stopImage().id, () => writeFileSync(weights, 'weights B'));
      await expectRejects(first.parse(args), EvalError, /with 0 keypoints/);
      expect(Buffer.from(first.created[0]!.weights as Uint8Array).toString()).to.equal('weights A');
      // The images journaled are of weights A: a run of weights B is another run.
      await expectRejects(cli().parse(args), EvalError, /replaced\.json\.journal is the journal of a different run \(other estimator settings: sha256\)/);
    });

    it('BAD CALL - a checkpoint named .onnx: the estimator is given its path, to refuse it in words about its name, as predict does', async () => {
      const misnamed = join(dir, 'checkpoint.onnx');
      copyFileSync(TINY_COCO_CHECKPOINT(), misnamed);
      const c = cli();
      await c.parse(['--images', imagesDir, '--annotations', annotations, '--out', join(dir, 'misnamed.json'), '--limit', '2', '--preset', 'tiny_coco', '--weights', misnamed]);
      expect(c.created[0]!.weights).to.equal(misnamed);
    });

    it('holds the weights it read only until the estimator is made (a 250 MB checkpoint is not kept for the whole run)', async () => {
      const weights = join(dir, 'held.pth');
      writeFileSync(weights, 'weights');
      const collected: boolean[] = [];
      const program = new Command().exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
      registerEval(program, {
        createEstimator: async ({ weights: bytes }) => {
          expect(bytes).to.be.instanceOf(Uint8Array);
          const given = new WeakRef(bytes as Uint8Array);
          const estimatePoses = async () => {
            if (collected.length === 0) collected.push(await isCollected(given));
            return [];
          };
          return { estimatePoses, dispose: async () => {} };
        },
      });
      await program.parseAsync(['eval', '--images', imagesDir, '--annotations', annotations, '--out', join(dir, 'held.json'), '--limit', '2', '--preset', 'tiny_coco', '--weights', weights], { from: 'user' });
      expect(collected).to.deep.equal([true]);
    });

    it('BAD CALL - runs of different piped configurations (--config <(...)) do not share a journal; the same one piped again resumes', async function () {
      if (process.platform === 'win32') this.skip();
      const weights = join(dir, 'w.pth');
      writeFileSync(weights, 'weights');
      const tinyCoco = readFileSync(join(fixturesRoot(), 'configs', 'tiny_coco.yaml'), 'utf8');
      const out = join(dir, 'piped.json');
      const fifo = join(dir, 'config.fifo');
      const args = ['--images', imagesDir, '--annotations', annotations, '--out', out, '--limit', '10', '--config', fifo, '--weights', weights];
      const withPiped = (text: string, run: () => Promise<unknown>) => withPipedOnce(fifo, text, run);
      await withPiped(tinyCoco, () => expectRejects(cli(stopImage().id).parse(args), EvalError, /with 0 keypoints/));
      expect(existsSync(`${out}.journal`)).to.equal(true);
      await withPiped(tinyCoco.replace(/FLIP_TEST: \w+/, 'FLIP_TEST: false'), () => expectRejects(cli().parse(args), EvalError, /piped\.json\.journal is the journal of a different run \(other estimator settings: sha256\)/));
      const resumed = cli();
      await withPiped(tinyCoco, () => resumed.parse(args));
      expectResumed(resumed.err);
    });

    it('BAD CALL - runs of different piped weights (--weights <(...)) do not share a journal; the same piped again resumes, the estimator given the bytes read', async function () {
      if (process.platform === 'win32') this.skip();
      const out = join(dir, 'piped-weights.json');
      const fifo = join(dir, 'weights.fifo');
      const args = ['--images', imagesDir, '--annotations', annotations, '--out', out, '--limit', '10', '--preset', 'tiny_coco', '--weights', fifo];
      const withPiped = (text: string, run: () => Promise<unknown>) => withPipedOnce(fifo, text, run);
      const first = cli(stopImage().id);
      await withPiped('weights A', () => expectRejects(first.parse(args), EvalError, /with 0 keypoints/));
      expect(existsSync(`${out}.journal`)).to.equal(true);
      await withPiped('weights B', () => expectRejects(cli().parse(args), EvalError, /piped-weights\.json\.journal is the journal of a different run \(other estimator settings: sha256\)/));
      const resumed = cli();
      await withPiped('weights A', () => resumed.parse(args));
      expectResumed(resumed.err);
      // The estimator cannot read the pipe again: it is given what eval read.
      expect(Buffer.from(first.created[0]!.weights as Uint8Array).toString()).to.equal('weights A');
    });

    it('BAD CALL - --calibrate images changed under the same names since a stopped int8 run: its journal is refused, not mixed in', async () => {
      const calibration = join(dir, 'calibration');
      mkdirSync(calibration);
      const images = ['a.jpg', 'b.jpg'].map((name) => join(calibration, name));
      const calibrateOn = (content: string) => images.forEach((image, i) => writeFileSync(image, `${content} ${i}`));
      const out = join(dir, 'int8.json');
      const args = ['--images', imagesDir, '--annotations', annotations, '--out', out, '--limit', '10', '--preset', 'tiny_coco', '--weights', 'w.pth',
        '--precision', 'int8', '--calibrate', calibration];
      calibrateOn('first images');
      await expectRejects(cli(stopImage().id).parse(args), EvalError, /with 0 keypoints/);
      expect(existsSync(`${out}.journal`)).to.equal(true);
      calibrateOn('other images');
      await expectRejects(cli().parse(args), EvalError, /int8\.json\.journal is the journal of a different run \(other estimator settings: sha256\)/);
      // The same images again: the run resumes.
      calibrateOn('first images');
      const resumed = cli();
      await resumed.parse(args);
      expectResumed(resumed.err);
      expect(resumed.created[0]!.calibrationImages).to.deep.equal(images);
    });

    it('BAD CALL - malformed --scales', async () => {
      const c = cli();
      await expectRejects(c.parse(['--images', imagesDir, '--annotations', annotations, '--scales', '2,x']), CommanderError, /--scales <list>.*expected comma-separated positive scales/);
      await expectRejects(cli().parse(['--images', imagesDir, '--annotations', annotations, '--input-size', '250']), CommanderError, /--input-size <n>.*expected a positive multiple of 64, got 250/);
    });
  });
});
