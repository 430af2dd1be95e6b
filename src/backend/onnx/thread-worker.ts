/**
 * The worker thread of `OnnxNetworkThread`: holds one ONNX Runtime session and runs it on the
 * inputs it is sent, one at a time, in the order they come.
 */
import { parentPort } from 'node:worker_threads';
import { OnnxNetwork, releaseNow } from './session.js';
import type { NetworkJob, NetworkReply } from './thread.js';
import { workerError } from '../../parallel/worker-thread.js';

const port = parentPort;
if (!port) throw new Error('src/backend/onnx/thread-worker.ts runs as a worker thread (see OnnxNetworkThread)');
let network: OnnxNetwork | null = null;

async function answer(job: NetworkJob): Promise<{ reply: NetworkReply; transfer: ArrayBuffer[] }> {
  if (job.kind === 'create') {
    network = await OnnxNetwork.create(job.model, job.options, job.name);
    // This thread's copy of the model (~110 MB for W32), freed now: an idle worker collects its garbage late.
    if (job.model instanceof Uint8Array) releaseNow(job.model.buffer);
    return { reply: { outputNames: [...network.outputNames], declaredChannels: network.declaredChannels }, transfer: [] };
  }
  if (job.kind === 'dispose') {
    await network?.dispose();
    network = null;
    return { reply: { disposed: true }, transfer: [] };
  }
  if (!network) throw new Error('a run came before the session was created');
  const outputs = await network.run(job.input, job.dims);
  releaseNow(job.input.buffer);
  const { into } = job;
  if (into) {
    outputs.forEach((o, i) => {
      into[i].set(o.data);
      releaseNow(o.data.buffer);
    });
    return { reply: { outputs: outputs.map((o) => ({ shape: o.shape })) }, transfer: [] };
  }
  return { reply: { outputs: outputs.map((o) => ({ shape: o.shape, data: o.data })) }, transfer: outputs.map((o) => o.data.buffer as ArrayBuffer) };
}

// Jobs are answered one after another: a run waits for the session, and runs keep their order.
let queue: Promise<unknown> = Promise.resolve();
port.on('message', ({ id, job }: { id: number; job: NetworkJob }) => {
  queue = queue.then(async () => {
    try {
      const { reply, transfer } = await answer(job);
      port.postMessage({ id, ...reply }, transfer);
    } catch (error) {
      port.postMessage({ id, error: workerError(error) });
    }
  });
});
