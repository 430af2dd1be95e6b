import { expect } from 'chai';
import { COCO_KEYPOINTS } from '../src/datasets.js';
import { minCostAssignment } from '../src/tracking/assignment.js';
// From the package entry: a frame loop of a user's own tracks and smooths as processVideo does.
import { OneEuroFilter, PoseSmoother, PoseTracker } from '../src/index.js';
import { pairsWithinReach } from '../src/tracking/oks-reach.js';
import { matchBySimilarity, poseOks } from '../src/tracking/tracker.js';
import type { Person } from '../src/types.js';

/** Deterministic pseudo-random numbers in [0, 1). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** A standing figure of height `h` centred at (cx, cy), COCO joints. */
function figure(cx: number, cy: number, h = 100, score = 0.9): Person {
  const u = h / 10;
  const layout: [number, number][] = [
    [0, -4.5], [-0.3, -4.8], [0.3, -4.8], [-0.7, -4.6], [0.7, -4.6], [-1.5, -3], [1.5, -3], [-2, -1], [2, -1],
    [-2.2, 1], [2.2, 1], [-1, 0.5], [1, 0.5], [-1, 3], [1, 3], [-1, 5], [1, 5],
  ];
  const keypoints = layout.map(([x, y], j) => ({ name: COCO_KEYPOINTS.names[j]!, x: cx + x * u, y: cy + y * u, score }));
  const xs = keypoints.map((k) => k.x);
  const ys = keypoints.map((k) => k.y);
  const box = { xMin: Math.min(...xs), yMin: Math.min(...ys), xMax: Math.max(...xs), yMax: Math.max(...ys), width: 0, height: 0 };
  box.width = box.xMax - box.xMin;
  box.height = box.yMax - box.yMin;
  return { score, keypoints, box };
}

const ids = (people: Person[]): (number | undefined)[] => people.map((p) => p.id);

describe('tracking', () => {
  it('people of a caller\'s own built with id: undefined (`id: maybeId`, as PersonInput types them) are taken as people without an id', () => {
    const built = { ...figure(100, 100), id: undefined };
    expect(ids(new PoseTracker({ keypoints: COCO_KEYPOINTS }).update([built]))).to.deep.equal([1]);
    // The smoother passes a person without an id as it is.
    expect(new PoseSmoother().apply([built], 0)[0]).to.equal(built);
  });

  describe('minCostAssignment', () => {
    function bruteForce(cost: number[][]): number {
      const rows = cost.length;
      const cols = cost[0]!.length;
      const k = Math.min(rows, cols);
      let best = Infinity;
      const walk = (i: number, used: Set<number>, skipped: number, total: number): void => {
        if (i === rows) {
          if (used.size === k) best = Math.min(best, total);
          return;
        }
        if (skipped < rows - k) walk(i + 1, used, skipped + 1, total);
        for (let j = 0; j < cols; j++) {
          if (used.has(j)) continue;
          used.add(j);
          walk(i + 1, used, skipped, total + cost[i]![j]!);
          used.delete(j);
        }
      };
      walk(0, new Set(), 0, 0);
      return best;
    }

    it('solves a known square case', () => {
      expect(minCostAssignment([[4, 1, 3], [2, 0, 5], [3, 2, 2]])).to.deep.equal([1, 0, 2]);
    });

    it('matches brute force on random rectangular matrices', () => {
      const rnd = random(7);
      for (let trial = 0; trial < 200; trial++) {
        const rows = 1 + Math.floor(rnd() * 5);
        const cols = 1 + Math.floor(rnd() * 5);
        const cost = Array.from({ length: rows }, () => Array.from({ length: cols }, () => Math.round(rnd() * 20) / 2));
        const result = minCostAssignment(cost);
        const assigned = result.filter((j) => j >= 0);
        expect(assigned).to.have.length(Math.min(rows, cols));
        expect(new Set(assigned).size).to.equal(assigned.length);
        const total = result.reduce((sum, j, i) => (j >= 0 ? sum + cost[i]![j]! : sum), 0);
        expect(total).to.be.closeTo(bruteForce(cost), 1e-9);
      }
    });

    it('handles empty matrices', () => {
      expect(minCostAssignment([])).to.deep.equal([]);
      expect(minCostAssignment([[], []])).to.deep.equal([-1, -1]);
    });
  });

  describe('poseOks', () => {
    const sigmas = COCO_KEYPOINTS.sigmas;
    it('is 1 for the same pose, small for distant poses, and symmetric', () => {
      const a = figure(100, 100);
      expect(poseOks(a, a, sigmas)).to.equal(1);
      expect(poseOks(a, figure(400, 100), sigmas)).to.be.below(1e-6);
      const b = figure(104, 102, 90);
      expect(poseOks(a, b, sigmas)).to.equal(poseOks(b, a, sigmas));
      expect(poseOks(a, b, sigmas)).to.be.within(0.3, 1);
    });

    it('leaves out joints scored below the threshold', () => {
      const a = figure(100, 100);
      const b = figure(100, 100);
      b.keypoints[9] = { ...b.keypoints[9]!, x: 500, score: 0.01 };
      expect(poseOks(a, b, sigmas)).to.equal(1);
      expect(poseOks(a, b, sigmas, 0)).to.be.below(1);
    });
  });

  describe('PoseTracker', () => {
    const tracker = (opts: { maxMissed?: number } = {}): PoseTracker => new PoseTracker({ keypoints: COCO_KEYPOINTS, ...opts });

    it('keeps ids when people cross, and hands out new ids to new people', () => {
      const t = tracker();
      // A walks right, B walks left at the same height; they overlap at frame 10.
      for (let f = 0; f <= 20; f++) {
        const a = figure(100 + f * 10, 100);
        const b = figure(300 - f * 10, 100);
        // Detection order varies, as a bottom-up detector sorts by score.
        const people = f % 2 === 0 ? [a, b] : [b, a];
        const out = t.update(people);
        expect(ids(out), `frame ${f}`).to.deep.equal(f % 2 === 0 ? [1, 2] : [2, 1]);
      }
      const out = t.update([figure(300, 100), figure(100, 100), figure(600, 300)]);
      expect(ids(out)).to.deep.equal([1, 2, 3]);
    });

    it('keeps a track through missed detections for maxMissed frames, then gives a new id', () => {
      const t = tracker({ maxMissed: 3 });
      expect(ids(t.update([figure(100, 100), figure(300, 100)]))).to.deep.equal([1, 2]);
      // B is missed for 3 frames: still id 2 when it comes back.
      for (let f = 0; f < 3; f++) expect(ids(t.update([figure(100, 100)]))).to.deep.equal([1]);
      expect(t.activeIds).to.deep.equal([1, 2]);
      expect(ids(t.update([figure(300, 100), figure(100, 100)]))).to.deep.equal([2, 1]);
      // B leaves for 4 frames: its track is dropped and it re-enters as a new person.
      for (let f = 0; f < 4; f++) t.update([figure(100, 100)]);
      expect(t.activeIds).to.deep.equal([1]);
      expect(ids(t.update([figure(100, 100), figure(300, 100)]))).to.deep.equal([1, 3]);
    });

    it('BAD CALL - a first id that is no integer, or a minimum keypoint score that is NaN: a RangeError', () => {
      for (const firstId of [NaN, 1.5, Infinity]) {
        expect(() => new PoseTracker({ keypoints: COCO_KEYPOINTS, firstId }), String(firstId)).to.throw(RangeError, /firstId must be an integer/);
      }
      expect(() => new PoseTracker({ keypoints: COCO_KEYPOINTS, minKeypointScore: NaN })).to.throw(RangeError, /minKeypointScore must be a number/);
    });

    it('BAD CALL - new people past the last safe integer id: a RangeError, not an id given twice', () => {
      // Past 2^53 - 1, nextId++ stays at 2^53: two people of one run had the same id.
      const last = Number.MAX_SAFE_INTEGER;
      const t = new PoseTracker({ keypoints: COCO_KEYPOINTS, firstId: last - 1 });
      expect(ids(t.update([figure(100, 100), figure(300, 100)]))).to.deep.equal([last - 1, last]);
      expect(() => t.update([figure(100, 100), figure(300, 100), figure(500, 100)])).to.throw(RangeError, /^PoseTracker: a new person would get an id past 2\^53 - 1 \(Number\.MAX_SAFE_INTEGER\), which would repeat; give a smaller firstId, or reset\(\) it$/);
      // The tracks are left as they were: the people known keep their ids.
      expect(t.activeIds).to.deep.equal([last - 1, last]);
      expect(ids(t.update([figure(300, 100), figure(100, 100)]))).to.deep.equal([last, last - 1]);
    });

    it('BAD CALL - an option misspelt or given as a string: a TypeError naming it, not its default or a comparison as text', () => {
      const make = (options: object) => () => new PoseTracker({ keypoints: COCO_KEYPOINTS, ...options } as never);
      expect(make({ maxMised: 30 })).to.throw(TypeError, /^PoseTracker: unknown option maxMised; its options are keypoints, oksThreshold, iouThreshold, maxMissed, minKeypointScore, firstId$/);
      expect(make({ oksThreshold: '0.5' })).to.throw(TypeError, /^PoseTracker: oksThreshold must be a number, got "0\.5"$/);
      expect(make({ minKeypointScore: '0.2' })).to.throw(TypeError, /^PoseTracker: minKeypointScore must be a number, got "0\.2"$/);
    });

    it('BAD CALL - no keypoint definition (`new PoseTracker()` from JavaScript): a TypeError that says what it needs, when it is made', () => {
      for (const options of [undefined, {}, { keypoints: 'coco' }]) {
        expect(() => new PoseTracker(options as never), JSON.stringify(options)).to.throw(TypeError, /^PoseTracker needs \{ keypoints \}/);
      }
    });

    it('BAD CALL - a coordinate or score that is not a finite number: a RangeError naming it, the tracks kept as they were', () => {
      // A NaN box made the track's velocity NaN: the person lost the id the frame after.
      const t = tracker();
      expect(ids(t.update([figure(100, 100), figure(300, 100)]))).to.deep.equal([1, 2]);
      const bad = figure(101, 100);
      bad.box = { ...bad.box, xMin: NaN };
      expect(() => t.update([bad, figure(300, 100)])).to.throw(RangeError, /PoseTracker: person 0's box has xMin NaN/);
      const badJoint = figure(101, 100);
      badJoint.keypoints[0] = { ...badJoint.keypoints[0]!, score: NaN };
      expect(() => t.update([badJoint])).to.throw(RangeError, /person 0's keypoint nose has score NaN/);
      expect(ids(t.update([figure(102, 100), figure(300, 100)]))).to.deep.equal([1, 2]);
      expect(ids(t.update([figure(104, 100), figure(300, 100)]))).to.deep.equal([1, 2]);
    });

    it('BAD CALL - a box whose width or height is no finite number (a box of a user\'s own without them): a RangeError naming it, not a new id every frame', () => {
      // OKS and IoU scale by width × height: NaN made every pair unmatched, silently.
      const t = tracker();
      expect(ids(t.update([figure(100, 100), figure(300, 100)]))).to.deep.equal([1, 2]);
      for (const [side, value] of [['width', NaN], ['height', undefined], ['width', Infinity]] as const) {
        const bad = figure(101, 100);
        bad.box = { ...bad.box, [side]: value };
        expect(() => t.update([bad, figure(300, 100)]), `${side} ${value}`).to.throw(RangeError, new RegExp(`^PoseTracker: person 0's box has ${side} ${value}; `));
      }
      expect(ids(t.update([figure(102, 100), figure(300, 100)]))).to.deep.equal([1, 2]);
    });

    it('BAD CALL - people of another keypoint definition (CrowdPose\'s 14 joints, a COCO tracker): a RangeError, not OKS over the shorter list', () => {
      const t = tracker();
      expect(ids(t.update([figure(100, 100)]))).to.deep.equal([1]);
      const crowdPosePerson = figure(101, 100);
      crowdPosePerson.keypoints = crowdPosePerson.keypoints.slice(0, 14);
      expect(() => t.update([figure(300, 100), crowdPosePerson])).to.throw(RangeError, /^PoseTracker: person 1 has 14 keypoints, the tracker's keypoint definition \(coco\) 17: give it the estimator's keypoints$/);
      expect(ids(t.update([figure(102, 100)]))).to.deep.equal([1]);
    });

    it('BAD CALL - people that are not a list of people (an array call\'s list per image, a person without a box): a TypeError naming it, for the smoother too', () => {
      // Each was a TypeError from inside the check ("person.keypoints is not iterable").
      const { box: _, ...boxless } = figure(101, 100);
      const cases: [string, unknown, RegExp][] = [
        ['one list per image', [[figure(101, 100)]], /: person 0 is a list, not a person: give the people of one image \(estimatePoses of a list of images gives a list per image\)$/],
        ['a single person', figure(101, 100), /: people must be a list of people \(estimatePoses gives one per image\), got Object$/],
        ['nothing', [null], /: person 0 must be a person \{ keypoints, box, score \}, got Null$/],
        ['no box', [boxless], /: person 0 has no box \(its xMin, yMin, xMax, yMax, width and height\), got Undefined$/],
        ['no keypoints', [{ ...figure(101, 100), keypoints: undefined }], /: person 0 has no keypoints list, got Undefined$/],
        // "Cannot read properties of null (reading 'x')" from inside the check before.
        ['a keypoint left null', [{ ...figure(101, 100), keypoints: [...figure(101, 100).keypoints.slice(0, 16), null] }], /: person 0's keypoint 16 must be a keypoint \{ name, x, y, score \}, got Null$/],
      ];
      const t = tracker();
      expect(ids(t.update([figure(100, 100)]))).to.deep.equal([1]);
      for (const [name, people, message] of cases) {
        expect(() => t.update(people as Person[]), name).to.throw(TypeError, new RegExp(`^PoseTracker${message.source}`));
        expect(() => new PoseSmoother().apply(people as Person[], 0), name).to.throw(TypeError, new RegExp(`^PoseSmoother${message.source}`));
      }
      expect(ids(t.update([figure(102, 100)]))).to.deep.equal([1]);
    });

    it('does not match people by their undetected joints (score 0), which all lie at one point', () => {
      // Without refine, a joint not detected sits at the image point of heatmap pixel (0, 0) in
      // every person: two people with no found joint in common were an OKS of 0.65, one id.
      const only = (p: Person, found: (j: number) => boolean): Person => {
        const keypoints = p.keypoints.map((k, j) => (found(j) ? k : { ...k, x: 2, y: 2, score: 0 }));
        const xs = keypoints.filter((k) => k.score > 0).map((k) => k.x);
        const ys = keypoints.filter((k) => k.score > 0).map((k) => k.y);
        const box = { xMin: Math.min(...xs), yMin: Math.min(...ys), xMax: Math.max(...xs), yMax: Math.max(...ys), width: 0, height: 0 };
        return { ...p, keypoints, box: { ...box, width: box.xMax - box.xMin, height: box.yMax - box.yMin } };
      };
      const head = (j: number): boolean => j < 3;
      const feet = (j: number): boolean => j >= 15;
      expect(poseOks(only(figure(100, 100), head), only(figure(600, 400), feet), COCO_KEYPOINTS.sigmas)).to.equal(0);
      const t = tracker();
      expect(ids(t.update([only(figure(100, 100), head)]))).to.deep.equal([1]);
      // Someone else, far away, with other joints found.
      expect(ids(t.update([only(figure(600, 400), feet)]))).to.deep.equal([2]);
      // The first one again, a little further on: by the joints found in both.
      expect(ids(t.update([only(figure(102, 100), (j) => j < 5), only(figure(600, 400), feet)]))).to.deep.equal([1, 2]);
    });

    it('keeps its own copy of each track\'s pose: people changed in place after update (scaled for display) keep their ids', () => {
      // The tracks held the caller's keypoints and box, which the returned people share: changed in place, the next frame matched nothing.
      const t = tracker();
      for (let f = 0; f < 3; f++) {
        const out = t.update([figure(100 + f, 100), figure(400 + f, 100)]);
        expect(ids(out), `frame ${f}`).to.deep.equal([1, 2]);
        for (const person of out) {
          for (const k of person.keypoints) Object.assign(k, { x: k.x * 3, y: k.y * 3 });
          Object.assign(person.box, { xMin: person.box.xMin * 3, xMax: person.box.xMax * 3, yMin: person.box.yMin * 3, yMax: person.box.yMax * 3 });
        }
      }
    });

    it('does not pass an id to a different person at another place', () => {
      const t = tracker();
      expect(ids(t.update([figure(100, 100)]))).to.deep.equal([1]);
      // The first person vanishes and someone appears far away in the same frame.
      expect(ids(t.update([figure(500, 300)]))).to.deep.equal([2]);
      expect(ids(t.update([figure(100, 100), figure(500, 300)]))).to.deep.equal([1, 2]);
    });

    it('prefers one good match to two poor ones: a person who stays keeps the id', () => {
      const t = tracker();
      // A and B stand 11.5 px apart (OKS ~0.4 between them).
      for (let f = 0; f < 3; f++) expect(ids(t.update([figure(300, 200), figure(311.5, 200)]))).to.deep.equal([1, 2]);
      // B is gone and someone appears on A's other side; A has not moved. Two pairs of OKS ~0.4
      // (A's track to the newcomer, B's to A) cost less than A's perfect match alone with
      // forced pairs; leaving B's track unmatched has its cost too.
      expect(ids(t.update([figure(300, 200), figure(288.5, 200)]))[0]).to.equal(1);
    });

    it('keeps the id of a small person moving fast, by box overlap where OKS fails', () => {
      const t = tracker();
      const steps = Array.from({ length: 10 }, (_, f) => t.update([figure(100 + 15 * f, 200)])[0]!.id);
      expect(poseOks(figure(100, 200), figure(115, 200), COCO_KEYPOINTS.sigmas)).to.be.below(0.3);
      expect(steps).to.deep.equal(new Array(10).fill(1));
      expect(t.activeIds).to.deep.equal([1]);
    });

    it('tracks a crowd of 500, every person keeping its id', () => {
      // A random-weight model finds ~330 people a frame; the time a crowd takes is a figure of
      // `npm run bench` (tracking_ms), not something a unit test can time.
      const crowd = (f: number): Person[] => Array.from({ length: 500 }, (_, i) => figure((i % 25) * 60 + f, Math.floor(i / 25) * 120));
      const t = tracker();
      t.update(crowd(0));
      expect(ids(t.update(crowd(1)))).to.deep.equal(Array.from({ length: 500 }, (_, i) => i + 1));
    });

    it('never gives one id to two people of a frame, and returns copies', () => {
      const t = tracker();
      const people = [figure(100, 100), figure(102, 101)];
      t.update([figure(101, 100)]);
      const out = t.update(people);
      expect(new Set(ids(out)).size).to.equal(2);
      expect(people[0]!.id).to.equal(undefined);
      t.reset();
      expect(ids(t.update([figure(0, 0)]))).to.deep.equal([1]);
    });
  });

  describe('OKS pairs skipped by distance', () => {
    /** A pose moved by (dx, dy), box too. */
    const moved = (p: Person, dx: number, dy: number): Person => ({
      ...p,
      keypoints: p.keypoints.map((k) => ({ ...k, x: k.x + dx, y: k.y + dy })),
      box: { ...p.box, xMin: p.box.xMin + dx, xMax: p.box.xMax + dx, yMin: p.box.yMin + dy, yMax: p.box.yMax + dy },
    });

    /**
     * `count` people scattered over a 1920x1080 frame, with the cases a bound on OKS could get
     * wrong unless `plain`: no joint found (scores 0, a zero box, joints anywhere), every joint
     * at one point (a box of size 0), the same person twice, joints outside the box, low-scored joints.
     */
    function crowd(rand: () => number, count: number, plain = false): Person[] {
      return Array.from({ length: count }, (_, i) => {
        const p = figure(rand() * 1920, rand() * 1080, 30 + rand() * 150);
        const kind = plain ? -1 : i % 10;
        if (kind === 0) {
          return { ...p, score: 0, keypoints: p.keypoints.map((k) => ({ ...k, x: rand() * 1920, y: rand() * 1080, score: 0 })), box: { xMin: 0, yMin: 0, xMax: 0, yMax: 0, width: 0, height: 0 } };
        }
        if (kind === 1) {
          const { x, y } = p.keypoints[0]!;
          return { ...p, keypoints: p.keypoints.map((k) => ({ ...k, x, y })), box: { xMin: x, yMin: y, xMax: x, yMax: y, width: 0, height: 0 } };
        }
        if (kind === 2) return { ...p, keypoints: p.keypoints.map((k, j) => (j < 5 ? { ...k, x: k.x + 200 * (rand() - 0.5), score: 0.05 } : k)) };
        if (kind === 3) return { ...p, keypoints: p.keypoints.map((k) => ({ ...k, score: rand() * 0.3 })) };
        return p;
      }).flatMap((p, i) => (!plain && i % 17 === 5 ? [p, p] : [p]));
    }

    /** The same joints with the box elsewhere: a box need not hold every joint. */
    const boxMoved = (p: Person, dx: number): Person => ({ ...p, box: { ...p.box, xMin: p.box.xMin + dx, xMax: p.box.xMax + dx } });

    /** The next frame: everyone moved a little, some gone, some new, some boxes far off, in another order. */
    function nextFrame(rand: () => number, people: Person[]): Person[] {
      const kept = people
        .filter(() => rand() > 0.05)
        .map((p) => (rand() < 0.1 ? p : moved(p, 8 * (rand() - 0.5), 8 * (rand() - 0.5))))
        .map((p) => (rand() < 0.05 ? boxMoved(p, 300) : p));
      const all = [...kept, ...crowd(rand, Math.floor(rand() * 8))];
      for (let i = all.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [all[i], all[j]] = [all[j]!, all[i]!];
      }
      return all;
    }

    it('leaves out only pairs whose OKS is below the threshold, and most pairs of a scattered crowd', () => {
      const rand = random(11);
      const sigmas = COCO_KEYPOINTS.sigmas;
      for (const threshold of [0.3, 0.05, 0.9, 1, 0]) {
        for (let trial = 0; trial < 2; trial++) {
          const tracks = crowd(rand, 150);
          const people = nextFrame(rand, tracks);
          const reach = pairsWithinReach(tracks, people, sigmas, threshold);
          const wrong: string[] = [];
          tracks.forEach((track, i) => {
            const within = new Set(reach[i]);
            if (within.size !== reach[i]!.length) wrong.push(`track ${i}: a person twice`);
            people.forEach((person, j) => {
              if (!within.has(j) && !(poseOks(track, person, sigmas) < threshold)) wrong.push(`track ${i}, person ${j}`);
            });
          });
          expect(wrong, `threshold ${threshold}`).to.deep.equal([]);
        }
      }
      // Of a crowd as a detector finds it, only near neighbours: a few a person, not 300.
      const tracks = crowd(rand, 300, true);
      const people = tracks.map((p) => moved(p, 3, -2));
      const examined = pairsWithinReach(tracks, people, sigmas, 0.3).reduce((sum, row) => sum + row.length, 0);
      expect(examined).to.be.below(10 * people.length);
    });

    it('leaves out most pairs of a crowd whose undetected joints (score 0) all lie at one point, as without refine', () => {
      // Those joints stretched every extent to the image corner: every pair was computed, 5 times the time a frame.
      const rand = random(13);
      const undetected = (p: Person): Person => ({ ...p, keypoints: p.keypoints.map((k) => (rand() < 0.3 ? { ...k, x: 2, y: 2, score: 0 } : k)) });
      const tracks = crowd(rand, 300, true).map(undetected);
      const people = tracks.map((p) => moved(p, 3, -2));
      const examined = pairsWithinReach(tracks, people, COCO_KEYPOINTS.sigmas, 0.3).reduce((sum, row) => sum + row.length, 0);
      expect(examined).to.be.below(10 * people.length);
    });

    it('keeps a pair whose OKS is the threshold exactly', () => {
      // All sigmas alike and every joint of each pose at one point: the OKS is the bound itself.
      const keypoints = { ...COCO_KEYPOINTS, sigmas: COCO_KEYPOINTS.sigmas.map(() => 0.1) };
      const point = (x: number): Person => ({
        score: 1,
        keypoints: COCO_KEYPOINTS.names.map((name) => ({ name, x, y: 50, score: 0.9 })),
        box: { xMin: x, yMin: 50, xMax: x, yMax: 50, width: 0, height: 0 },
      });
      for (const step of [0.05, 0.31, 0.6, 1.2]) {
        const oks = poseOks(point(100), point(100 + step), keypoints.sigmas);
        expect(pairsWithinReach([point(100)], [point(100 + step)], keypoints.sigmas, oks), `step ${step}`).to.deep.equal([[0]]);
        // Boxes of size 0 never overlap: only OKS keeps the id.
        const t = new PoseTracker({ keypoints, oksThreshold: oks });
        t.update([point(100)]);
        expect(ids(t.update([point(100 + step)])), `step ${step}`).to.deep.equal([1]);
      }
    });

    /** PoseTracker as it was: every pair's OKS computed. */
    class UnprunedTracker {
      private tracks: { id: number; person: Person; velocity: { x: number; y: number }; missed: number }[] = [];
      private nextId = 1;
      constructor(private readonly oksThreshold: number) {}

      update(people: Person[]): number[] {
        const sigmas = COCO_KEYPOINTS.sigmas;
        const centre = (p: Person) => ({ x: (p.box.xMin + p.box.xMax) / 2, y: (p.box.yMin + p.box.yMax) / 2 });
        const iou = (a: Person, b: Person): number => {
          const w = Math.min(a.box.xMax, b.box.xMax) - Math.max(a.box.xMin, b.box.xMin);
          const h = Math.min(a.box.yMax, b.box.yMax) - Math.max(a.box.yMin, b.box.yMin);
          if (!(w > 0 && h > 0)) return 0;
          const union = a.box.width * a.box.height + b.box.width * b.box.height - w * h;
          return union > 0 ? (w * h) / union : 0;
        };
        const predicted = this.tracks.map((t) => moved(t.person, t.velocity.x * (t.missed + 1), t.velocity.y * (t.missed + 1)));
        const trackOf = new Array<(typeof this.tracks)[number] | undefined>(people.length);
        const byOks = matchBySimilarity(predicted.length, people.length, (i, j) => poseOks(predicted[i]!, people[j]!, sigmas), this.oksThreshold);
        for (const [i, j] of byOks) trackOf[j] = this.tracks[i];
        const tracksLeft = predicted.flatMap((_, i) => (byOks.some(([m]) => m === i) ? [] : [i]));
        const peopleLeft = people.flatMap((_, j) => (trackOf[j] ? [] : [j]));
        const byBox = matchBySimilarity(tracksLeft.length, peopleLeft.length, (a, b) => iou(predicted[tracksLeft[a]!]!, people[peopleLeft[b]!]!), 0.3);
        for (const [a, b] of byBox) trackOf[peopleLeft[b]!] = this.tracks[tracksLeft[a]!];
        const out = people.map((person, j) => {
          let track = trackOf[j];
          if (track) {
            const steps = track.missed + 1;
            track.velocity = { x: (centre(person).x - centre(track.person).x) / steps, y: (centre(person).y - centre(track.person).y) / steps };
            Object.assign(track, { person, missed: -1 });
          } else {
            track = { id: this.nextId++, person, velocity: { x: 0, y: 0 }, missed: -1 };
            this.tracks.push(track);
          }
          return track.id;
        });
        for (const t of this.tracks) t.missed++;
        this.tracks = this.tracks.filter((t) => t.missed <= 5);
        return out;
      }
    }

    it('gives the ids every pair\'s OKS gives, frame after frame of a changing crowd', () => {
      const rand = random(5);
      for (const oksThreshold of [0.3, 0.1]) {
        const pruned = new PoseTracker({ keypoints: COCO_KEYPOINTS, oksThreshold });
        const unpruned = new UnprunedTracker(oksThreshold);
        let people = crowd(rand, 80);
        for (let frame = 0; frame < 20; frame++) {
          expect(ids(pruned.update(people)), `threshold ${oksThreshold}, frame ${frame}`).to.deep.equal(unpruned.update(people));
          people = nextFrame(rand, people);
        }
      }
    });
  });

  describe('OneEuroFilter', () => {
    it('passes the first value and smooths jitter', () => {
      const rnd = random(3);
      const filter = new OneEuroFilter({ minCutoff: 1, beta: 0.01 });
      expect(filter.apply(5, 0)).to.equal(5);
      const raw: number[] = [];
      const smooth: number[] = [];
      for (let i = 1; i <= 300; i++) {
        const v = 5 + (rnd() - 0.5) * 2;
        raw.push(v);
        smooth.push(filter.apply(v, i / 30));
      }
      const sd = (xs: number[]): number => {
        const tail = xs.slice(30);
        const mean = tail.reduce((a, b) => a + b, 0) / tail.length;
        return Math.sqrt(tail.reduce((a, b) => a + (b - mean) ** 2, 0) / tail.length);
      };
      expect(sd(smooth)).to.be.below(sd(raw) / 3);
    });

    it('follows a step, faster with a higher beta', () => {
      const settle = (beta: number): number => {
        const filter = new OneEuroFilter({ minCutoff: 1, beta });
        for (let i = 0; i < 30; i++) filter.apply(0, i / 30);
        for (let i = 30; i < 300; i++) if (filter.apply(100, i / 30) > 95) return i - 30;
        return Infinity;
      };
      expect(settle(0)).to.be.below(30);
      expect(settle(0.1)).to.be.below(settle(0));
    });

    it('ignores repeated timestamps and forgets on reset', () => {
      const filter = new OneEuroFilter();
      filter.apply(0, 0);
      const v = filter.apply(10, 0.1);
      expect(filter.apply(1000, 0.1)).to.equal(v);
      filter.reset();
      expect(filter.apply(1000, 0.2)).to.equal(1000);
      expect(() => new OneEuroFilter({ minCutoff: 0 })).to.throw(RangeError);
    });

    it('BAD CALL - a value or time that is not a finite number: a RangeError, and the filter goes on as before', () => {
      // A NaN taken in made every later output NaN; a NaN first time held the first value forever.
      const filter = new OneEuroFilter();
      const reference = new OneEuroFilter();
      filter.apply(1, 0);
      reference.apply(1, 0);
      for (const [value, time] of [[NaN, 0.1], [Infinity, 0.1], [2, NaN], [2, -Infinity]] as const) {
        expect(() => filter.apply(value, time), `${value} at ${time}`).to.throw(RangeError, /must be finite numbers, got value/);
      }
      expect(filter.apply(2, 0.1)).to.equal(reference.apply(2, 0.1));
      expect(filter.apply(3, 0.2)).to.be.within(2, 3);
    });

    it('BAD CALL - times under a microsecond apart, or jumps too large for a speed: finite outputs, never NaN', () => {
      // A gap of 1e-310 s made the speed 0 · Infinity: NaN, and every later output NaN.
      const close = new OneEuroFilter();
      close.apply(0, 0);
      const held = close.apply(4, 0.5);
      // Under a microsecond after the last time is that time again (tfjs-models' pose-detection counts whole microseconds): the estimate is kept.
      expect(close.apply(5, 0.5 + 1e-310)).to.equal(held);
      expect(close.apply(5, 0.5 + 4e-7)).to.equal(held);
      expect(close.apply(5, 1)).to.be.within(held, 5);
      // From +1e308 to -1e308 the speed overflows: with beta 0 the cutoff was 0 · Infinity, NaN;
      // with beta 1 the speed stayed infinite and nothing was smoothed again. Both start afresh at the value, as after a seek.
      for (const beta of [0, 1]) {
        const jump = new OneEuroFilter({ beta });
        jump.apply(1e308, 0);
        expect(jump.apply(-1e308, 0.1), `beta ${beta}`).to.equal(-1e308);
        const reference = new OneEuroFilter({ beta });
        reference.apply(-1e308, 0.1);
        for (const time of [0.2, 0.3]) expect(jump.apply(-1e308 + 1e300, time), `beta ${beta} at ${time}`).to.equal(reference.apply(-1e308 + 1e300, time));
      }
    });

    it('BAD CALL - a smoother given absurd times and coordinates: finite people, never NaN', () => {
      const smoother = new PoseSmoother({ beta: 0.5 });
      const finite = (people: Person[]) => people.every((p) => p.keypoints.every((k) => Number.isFinite(k.x) && Number.isFinite(k.y)) && Object.values(p.box).every(Number.isFinite));
      expect(finite(smoother.apply([{ ...figure(100, 100), id: 1 }], 0))).to.equal(true);
      expect(finite(smoother.apply([{ ...figure(120, 100), id: 1 }], 1e-310))).to.equal(true);
      expect(finite(smoother.apply([{ ...figure(1e307, -1e307), id: 1 }], 0.1))).to.equal(true);
      expect(finite(smoother.apply([{ ...figure(-1e307, 1e307), id: 1 }], 0.2))).to.equal(true);
      expect(finite(smoother.apply([{ ...figure(100, 100), id: 1 }], 0.3))).to.equal(true);
    });

    it('starts afresh when time goes back (a seek), instead of holding the old estimate until time catches up', () => {
      const filter = new OneEuroFilter();
      for (let i = 0; i <= 100; i++) filter.apply(100, i / 10);
      expect(filter.apply(500, 0)).to.equal(500);
      expect(filter.apply(500, 0.1)).to.equal(500);
      expect(filter.apply(600, 0.2)).to.be.within(500, 600);
    });

    it('BAD CALL - settings that are not finite numbers in range: a RangeError, not NaN outputs', () => {
      // An infinite beta made a still point's cutoff Infinity · 0 = NaN, and every output after it NaN.
      for (const options of [{ beta: Infinity }, { beta: -1 }, { minCutoff: NaN }, { dCutoff: Infinity }]) {
        expect(() => new OneEuroFilter(options), JSON.stringify(options)).to.throw(RangeError, /must be finite numbers/);
      }
    });

    it('BAD CALL - settings of the wrong kind or misspelt, for the filter and the smoother: named, the string shown as one', () => {
      const js = <T>(value: unknown) => value as T;
      // 'x' and a misspelt setting left every default without a word.
      expect(() => new OneEuroFilter(js('x'))).to.throw(TypeError, /^OneEuroFilter: options must be an object with any of minCutoff, beta, dCutoff; got "x"$/);
      expect(() => new OneEuroFilter(js({ mincutoff: 0.5 }))).to.throw(TypeError, /^OneEuroFilter: unknown option mincutoff; its options are minCutoff, beta, dCutoff$/);
      expect(() => new PoseSmoother(js({ forgetafter: 2 }))).to.throw(TypeError, /^PoseSmoother: unknown option forgetafter; its options are minCutoff, beta, dCutoff, forgetAfter, checkTimeUnit$/);
      // The string "1" was shown as the number 1 it looks like.
      expect(() => new PoseSmoother(js({ minCutoff: '1' }))).to.throw(RangeError, /got minCutoff "1", beta 0, dCutoff 1$/);
      expect(() => new PoseSmoother(js({ forgetAfter: '2' }))).to.throw(RangeError, /^PoseSmoother: forgetAfter must be a number of seconds > 0, got "2"$/);
    });
  });

  describe('PoseSmoother', () => {
    it('smooths keypoints per track and leaves people without an id alone', () => {
      const rnd = random(11);
      const smoother = new PoseSmoother({ minCutoff: 0.5 });
      const errRaw: number[] = [];
      const errSmooth: number[] = [];
      for (let f = 0; f < 60; f++) {
        const jittered = figure(200 + (rnd() - 0.5) * 6, 100 + (rnd() - 0.5) * 6);
        const other = figure(400, 100);
        const [out, untouched] = smoother.apply([{ ...jittered, id: 4 }, other], f / 30);
        expect(out!.id).to.equal(4);
        expect(untouched).to.equal(other);
        if (f >= 10) {
          errRaw.push(Math.abs(jittered.keypoints[0]!.x - 200));
          errSmooth.push(Math.abs(out!.keypoints[0]!.x - 200));
          expect(out!.box.width).to.be.closeTo(out!.box.xMax - out!.box.xMin, 1e-9);
          expect(out!.keypoints[0]!.score).to.equal(jittered.keypoints[0]!.score);
        }
      }
      const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
      expect(mean(errSmooth)).to.be.below(mean(errRaw) / 2);
    });

    it('passes an undetected joint (score 0) as it is, without disturbing its filter', () => {
      const smoother = new PoseSmoother({ minCutoff: 1, beta: 0 });
      const at = (f: number, missing: boolean): Person => {
        const p = { ...figure(300, 200), id: 1 };
        if (missing) p.keypoints[9] = { ...p.keypoints[9]!, x: 0, y: 0, score: 0 };
        return p;
      };
      const wrists = Array.from({ length: 12 }, (_, f) => smoother.apply([at(f, f === 8)], f / 10)[0]!.keypoints[9]!);
      expect(wrists[8]).to.deep.include({ x: 0, y: 0, score: 0 });
      const { x, y } = figure(300, 200).keypoints[9]!;
      for (const f of [9, 10, 11]) {
        expect(wrists[f]!.x, `frame ${f}`).to.be.closeTo(x, 1e-9);
        expect(wrists[f]!.y, `frame ${f}`).to.be.closeTo(y, 1e-9);
      }
    });

    it('passes the zero box of a person with no joint found as it is, without dragging later boxes toward the origin', () => {
      const smoother = new PoseSmoother({ minCutoff: 1, beta: 0 });
      for (let f = 0; f < 5; f++) smoother.apply([{ ...figure(300, 300), id: 1 }], f / 10);
      const none = figure(300, 300, 100, 0);
      none.box = { xMin: 0, yMin: 0, xMax: 0, yMax: 0, width: 0, height: 0 };
      expect(smoother.apply([{ ...none, id: 1 }], 0.5)[0]!.box).to.deep.equal(none.box);
      const { box } = smoother.apply([{ ...figure(300, 300), id: 1 }], 0.6)[0]!;
      for (const side of ['xMin', 'yMin', 'xMax', 'yMax'] as const) expect(box[side], side).to.be.closeTo(figure(300, 300).box[side], 1e-9);
    });

    it('keeps each track\'s previous estimate at a repeated timestamp, the new positions left out; a person first seen then passes as it is', () => {
      const frames = (smoother: PoseSmoother): Person[] => Array.from({ length: 5 }, (_, f) => smoother.apply([{ ...figure(100 + 10 * f, 100), id: 1 }], f / 10)[0]!);
      const twice = new PoseSmoother();
      const last = frames(twice).at(-1)!;
      const [again, first] = twice.apply([{ ...figure(400, 300), id: 1 }, { ...figure(250, 50), id: 2 }], 0.4);
      expect(again!.keypoints.map(({ x, y }) => [x, y])).to.deep.equal(last.keypoints.map(({ x, y }) => [x, y]));
      expect(again!.box).to.deep.equal(last.box);
      expect(first).to.deep.equal({ ...figure(250, 50), id: 2 });
      // The next frame comes out as if the repeated one had not been given.
      const once = new PoseSmoother();
      frames(once);
      const next = (smoother: PoseSmoother): Person => smoother.apply([{ ...figure(150, 100), id: 1 }], 0.5)[0]!;
      expect(next(twice)).to.deep.equal(next(once));
    });

    it('starts every track afresh when time goes back (a seek)', () => {
      const smoother = new PoseSmoother();
      for (let f = 0; f <= 100; f++) smoother.apply([{ ...figure(100, 100), id: 1 }], f / 10);
      const [back] = smoother.apply([{ ...figure(300, 100), id: 1 }], 0);
      expect(back!.keypoints[0]!.x).to.equal(figure(300, 100).keypoints[0]!.x);
      expect(back!.box.xMin).to.equal(figure(300, 100).box.xMin);
    });

    it('BAD CALL - a coordinate, score or time that is not a finite number: a RangeError naming it, no filter touched', () => {
      const smoother = new PoseSmoother();
      smoother.apply([{ ...figure(100, 100), id: 1 }], 0);
      const bad = { ...figure(100, 100), id: 1 };
      bad.keypoints[9] = { ...bad.keypoints[9]!, y: NaN };
      expect(() => smoother.apply([{ ...figure(100, 100), id: 1 }, bad], 0.1)).to.throw(RangeError, /PoseSmoother: person 1's keypoint left_wrist has y NaN/);
      const badBox = { ...figure(100, 100), id: 1 };
      badBox.box = { ...badBox.box, xMax: Infinity };
      expect(() => smoother.apply([badBox], 0.1)).to.throw(RangeError, /person 0's box has xMax Infinity/);
      expect(() => smoother.apply([{ ...figure(100, 100), id: 1 }], NaN)).to.throw(RangeError, /timestamp must be a finite number of seconds, got NaN/);
      // It said 'got 0', as if the time 0 were refused.
      expect(() => smoother.apply([{ ...figure(100, 100), id: 1 }], '0' as unknown as number)).to.throw(RangeError, /timestamp must be a finite number of seconds, got "0"$/);
      // The filters were left as they were: a still person stays where it is.
      expect(smoother.apply([{ ...figure(100, 100), id: 1 }], 0.1)[0]!.keypoints[9]!.y).to.be.closeTo(figure(100, 100).keypoints[9]!.y, 1e-9);
    });

    it('BAD CALL - two people of a frame with one id (ids of a user\'s own): a RangeError naming them, not the second drawn where the first is', () => {
      // The second went through the first one's filters at the same time, which keep their estimate: it came out at the first's place.
      const smoother = new PoseSmoother();
      smoother.apply([{ ...figure(100, 100), id: 1 }], 0);
      const twice = [{ ...figure(100, 100), id: 1 }, { ...figure(300, 100), id: 2 }, { ...figure(500, 100), id: 1 }];
      expect(() => smoother.apply(twice, 0.1)).to.throw(RangeError, /^PoseSmoother: people 0 and 2 both have id 1; each id is one track, one person a frame \(PoseTracker gives each person its own\)$/);
      // No filter took the frame in: the person still smoothed from where it was.
      const after = smoother.apply([{ ...figure(100, 100), id: 1 }, { ...figure(300, 100), id: 2 }], 0.1);
      expect(after.map((p) => p.keypoints[0]!.x)).to.deep.equal([figure(100, 100).keypoints[0]!.x, figure(300, 100).keypoints[0]!.x]);
    });

    it('starts a track afresh after it was gone for forgetAfter seconds', () => {
      const smoother = new PoseSmoother({ forgetAfter: 0.5 });
      smoother.apply([{ ...figure(100, 100), id: 1 }], 0);
      const [back] = smoother.apply([{ ...figure(300, 100), id: 1 }], 1);
      expect(back!.keypoints[0]!.x).to.equal(figure(300, 100).keypoints[0]!.x);
    });

    it('BAD CALL - timestamps in milliseconds: a RangeError saying they are seconds, not smoothing silently switched off', () => {
      // performance.now() at 30 frames/s: gaps of ~33 "seconds" forgot every track before its next frame.
      const smoother = new PoseSmoother();
      const start = 1523.4;
      for (let f = 0; f < 3; f++) smoother.apply([{ ...figure(100, 100), id: 1 }], start + (f * 1000) / 30);
      expect(() => smoother.apply([{ ...figure(100, 100), id: 1 }], start + 100))
        .to.throw(RangeError, /PoseSmoother: the first 3 gaps between timestamps \(33\.33, 33\.33, 33\.33\) are each longer than forgetAfter \(1 s\).*Timestamps are seconds: divide milliseconds .* by 1000/);
      // Again after reset, which starts the check afresh too.
      smoother.reset();
      const now = Date.now();
      for (let f = 0; f < 3; f++) smoother.apply([], now + f * 40);
      expect(() => smoother.apply([], now + 120)).to.throw(RangeError, /are each longer than forgetAfter/);
    });

    it('takes seconds whose first frames come slowly, later pauses, and frames far apart within forgetAfter', () => {
      // A live loop: two slow first frames (the network warming up), then 10 frames/s, then three long pauses.
      const live = new PoseSmoother();
      const times = [0, 1.6, 3.1, 3.2, 3.3, 9.3, 15.3, 21.3, 21.4];
      for (const time of times) expect(() => live.apply([{ ...figure(100, 100), id: 1 }], time), `${time} s`).to.not.throw();
      const sparse = new PoseSmoother({ forgetAfter: 10 });
      for (let f = 0; f < 6; f++) sparse.apply([{ ...figure(100 + f, 100), id: 1 }], f * 5);
      // Turned off (processVideo, whose times are the video's seconds, far apart in a variable frame rate).
      const unchecked = new PoseSmoother({ checkTimeUnit: false });
      for (let f = 0; f < 6; f++) unchecked.apply([{ ...figure(100, 100), id: 1 }], f * 33);
      expect(() => new PoseSmoother({ checkTimeUnit: 'no' as unknown as boolean })).to.throw(RangeError, /checkTimeUnit must be true or false, got "no"/);
    });

    it('BAD CALL - bad settings are refused when it is made, not when the first person comes', () => {
      expect(() => new PoseSmoother({ minCutoff: -1 })).to.throw(RangeError, /minCutoff/);
      // NaN kept every track forever; 0 or less forgot each one at once, so nothing was smoothed.
      for (const forgetAfter of [NaN, 0, -1]) {
        expect(() => new PoseSmoother({ forgetAfter }), String(forgetAfter)).to.throw(RangeError, /forgetAfter must be a number of seconds > 0, got/);
      }
    });
  });
});
