/**
 * The estimator's choice of how to run the flip pair (one batch or two runs), timed per input
 * size (src/flip-pair.ts), on a clock the tests move.
 */
import { expect } from 'chai';
import { FLIP_PAIRS_TO_CHOOSE, FlipPairChooser } from '../src/flip-pair.js';

/**
 * A chooser on a clock that each pair moves on by the next of its way's `durations`; `ways`
 * records the way of every pair run.
 */
function scripted(durations: { batch: number[]; twoRuns: number[] }) {
  let clock = 0;
  const ways: boolean[] = [];
  const left = { batch: [...durations.batch], twoRuns: [...durations.twoRuns] };
  const chooser = new FlipPairChooser(() => clock);
  const runPair = async (batch: boolean): Promise<string> => {
    ways.push(batch);
    const next = (batch ? left.batch : left.twoRuns).shift();
    clock += next ?? 1;
    return batch ? 'batch' : 'two runs';
  };
  return { chooser, ways, run: (width = 704, height = 512) => chooser.run(width, height, runPair) };
}

describe('flip pair: one batch or two runs, the faster kept', () => {
  it('alternates from one batch, leaves out the first pair each way, then keeps the way with the smaller minimum', async () => {
    // The first pairs would decide the other way if they counted.
    const { chooser, ways, run } = scripted({ batch: [1000, 100, 90, 95], twoRuns: [1, 92, 93, 94] });
    for (let i = 0; i < FLIP_PAIRS_TO_CHOOSE; i++) {
      expect(chooser.chosen(704, 512), `before pair ${i + 1}`).to.equal(undefined);
      expect(await run()).to.equal(i % 2 === 0 ? 'batch' : 'two runs');
    }
    expect(ways).to.deep.equal([true, false, true, false, true, false, true, false]);
    expect(chooser.chosen(704, 512)).to.equal(true);
    expect(await run()).to.equal('batch');
    expect(await run()).to.equal('batch');
  });

  it('keeps two runs when their minimum is smaller; one batch on a tie', async () => {
    for (const [twoRuns, expected] of [[[5, 97, 120, 130], false], [[5, 98, 99, 100], true]] as const) {
      const { chooser, run } = scripted({ batch: [5, 100, 99, 98], twoRuns: [...twoRuns] });
      for (let i = 0; i < FLIP_PAIRS_TO_CHOOSE; i++) await run();
      expect(chooser.chosen(704, 512), `two runs ${twoRuns.join(', ')}`).to.equal(expected);
      expect(await run()).to.equal(expected ? 'batch' : 'two runs');
    }
  });

  it('times each input size on its own', async () => {
    const { chooser, ways, run } = scripted({ batch: [5, 100, 100, 100], twoRuns: [5, 90, 90, 90] });
    for (let i = 0; i < FLIP_PAIRS_TO_CHOOSE; i++) await run(704, 512);
    expect(chooser.chosen(704, 512)).to.equal(false);
    expect(chooser.chosen(512, 704)).to.equal(undefined);
    ways.length = 0;
    await run(512, 704);
    await run(512, 704);
    expect(ways).to.deep.equal([true, false]);
  });

  it('runs an input over 1024x1024 pixels as two runs, untimed', async () => {
    const { chooser, ways, run } = scripted({ batch: [], twoRuns: [] });
    expect(chooser.chosen(4096, 512)).to.equal(false);
    for (let i = 0; i < 3; i++) expect(await run(4096, 512)).to.equal('two runs');
    expect(ways).to.deep.equal([false, false, false]);
    expect(chooser.chosen(1024, 1024)).to.equal(undefined);
  });

  it('does not time pairs that overlap (images in flight): a size whose pairs always do is decided after 32 pairs, as one batch', async () => {
    // Two at a time, two runs much faster: counted, they would decide for them.
    const { chooser, run } = scripted({ batch: Array(40).fill(100), twoRuns: Array(40).fill(1) });
    for (let pairs = 0; pairs < 30; pairs += 2) {
      await Promise.all([run(), run()]);
      expect(chooser.chosen(704, 512), `after ${pairs + 2} pairs`).to.equal(undefined);
    }
    await Promise.all([run(), run()]);
    expect(chooser.chosen(704, 512)).to.equal(true);
  });
});
