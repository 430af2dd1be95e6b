import { expect } from 'chai';
import { inOrder, valueOf } from '../src/parallel/in-order.js';
import { getEventListeners } from 'node:events';
import { Slots } from '../src/parallel/slots.js';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('tasks in flight, outcomes in order (inOrder)', () => {
  it('keeps at most inFlight tasks running and yields their outcomes in the items\' order', async () => {
    for (const inFlight of [1, 2, 3]) {
      let running = 0;
      let most = 0;
      const finished: number[] = [];
      const seen: [number, PromiseSettledResult<number>][] = [];
      // Earlier items take longer, so that later ones finish first.
      for await (const { item, outcome } of inOrder([0, 1, 2, 3, 4], inFlight, async (i) => {
        most = Math.max(most, ++running);
        await pause(20 - 4 * i);
        running--;
        finished.push(i);
        if (i === 3) throw new Error('three');
        return i * 10;
      })) seen.push([item, outcome]);
      expect(most, `${inFlight} in flight`).to.equal(inFlight);
      expect(seen.map(([item]) => item)).to.deep.equal([0, 1, 2, 3, 4]);
      expect(seen.map(([, o]) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message))).to.deep.equal([0, 10, 20, 'three', 40]);
      if (inFlight > 1) expect(finished).to.not.deep.equal([0, 1, 2, 3, 4]);
    }
  });

  it('starts nothing more once the consumer stops, and waits for the tasks still running', async () => {
    const started: number[] = [];
    const done: number[] = [];
    for await (const { outcome } of inOrder([0, 1, 2, 3, 4, 5], 2, async (i) => {
      started.push(i);
      await pause(i === 1 ? 30 : 1);
      done.push(i);
      return i;
    })) if (valueOf(outcome) === 0) break;
    expect(started).to.deep.equal([0, 1]);
    expect(done.sort()).to.deep.equal([0, 1]);
    expect(() => valueOf({ status: 'rejected', reason: new RangeError('no') })).to.throw(RangeError, 'no');
  });

  it('throws an error of the items after the outcomes of the items before it', async () => {
    async function* items(): AsyncGenerator<number> {
      yield 0;
      yield 1;
      throw new Error('decoding failed');
    }
    const seen: number[] = [];
    let error: unknown;
    try {
      for await (const { item } of inOrder(items(), 3, async (i) => i)) seen.push(item);
    } catch (e) {
      error = e;
    }
    expect(seen).to.deep.equal([0, 1]);
    expect((error as Error).message).to.equal('decoding failed');
  });
});

describe('slots for tasks in flight (Slots)', () => {
  it('starts a task inside run when a slot is free, queues the others in order, and frees the slot of one that throws', async () => {
    const slots = new Slots(1);
    const started: string[] = [];
    const task = (name: string, fail = false) => async () => {
      started.push(name);
      await pause(5);
      if (fail) throw new Error(name);
      return name;
    };
    const first = slots.run(task('first', true));
    expect(started, 'started before run returned').to.deep.equal(['first']);
    expect(slots.free).to.equal(false);
    const second = slots.run(task('second'));
    const third = slots.run(() => {
      started.push('third');
      throw new Error('thrown before any await');
    });
    expect(started).to.deep.equal(['first']);
    await first.catch(() => undefined);
    // A call made as the slot changes hands waits behind those already waiting.
    const fourth = slots.run(task('fourth'));
    const outcomes = await Promise.allSettled([second, third, fourth]);
    expect(started).to.deep.equal(['first', 'second', 'third', 'fourth']);
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message))).to.deep.equal(['second', 'thrown before any await', 'fourth']);
    expect(slots.free).to.equal(true);
  });

  it('tasks waiting with one signal (Promise.all over a folder, one deadline) hold one abort listener on it, gone once none waits', async () => {
    const slots = new Slots(1);
    const listeners = (signal: AbortSignal) => getEventListeners(signal, 'abort').length;
    // Node warns of a leak past ten listeners on one signal (MaxListenersExceededWarning).
    const queueBehindOne = (signal: AbortSignal, count: number) => {
      const busy = slots.run(() => pause(5));
      return { busy, waiting: Array.from({ length: count }, (_, i) => slots.run(async () => i, signal)) };
    };
    const finishing = new AbortController();
    const finished = queueBehindOne(finishing.signal, 12);
    expect(listeners(finishing.signal)).to.equal(1);
    expect(await Promise.all(finished.waiting)).to.deep.equal([...Array(12).keys()]);
    expect(listeners(finishing.signal), 'none left once every task started').to.equal(0);

    const aborted = new AbortController();
    const cancelled = queueBehindOne(aborted.signal, 12);
    const other = new AbortController();
    const behind = slots.run(async () => 'behind', other.signal);
    expect([listeners(aborted.signal), listeners(other.signal)]).to.deep.equal([1, 1]);
    aborted.abort();
    const outcomes = await Promise.allSettled(cancelled.waiting);
    expect(outcomes.every((o) => o.status === 'rejected' && (o.reason as Error).name === 'AbortError'), 'every waiting task of the signal left').to.equal(true);
    expect(listeners(aborted.signal)).to.equal(0);
    expect(await behind, 'a task of another signal still runs').to.equal('behind');
    expect(listeners(other.signal)).to.equal(0);
    await cancelled.busy;
    expect(slots.free).to.equal(true);
  });
});
