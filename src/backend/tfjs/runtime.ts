/**
 * Finding a TensorFlow.js runtime. Every tfjs package is an optional peer dependency, loaded
 * on first use (never at module import), best first: the native CUDA build, the native CPU
 * build, then the pure-JavaScript package with the WebAssembly backend or the plain cpu one.
 */
import type * as Tf from '@tensorflow/tfjs';
import { BackendError } from '../onnx/session.js';
import type { TfjsBackendName } from './backend-name.js';
import { errorLine } from '../../values.js';

export type { TfjsBackendName } from './backend-name.js';

export type TfjsModule = typeof Tf;


export interface TfjsCandidate {
  /** The package providing the tfjs API. */
  module: string;
  /** A package to import first that registers `backend` (the WebAssembly backend). */
  backendModule?: string;
  backend: TfjsBackendName;
  /** Runs on NVIDIA GPUs (with CUDA). */
  cuda?: true;
}

const TFJS_CANDIDATES: readonly TfjsCandidate[] = [
  { module: '@tensorflow/tfjs-node-gpu', backend: 'tensorflow', cuda: true },
  { module: '@tensorflow/tfjs-node', backend: 'tensorflow' },
  { module: '@tensorflow/tfjs', backendModule: '@tensorflow/tfjs-backend-wasm', backend: 'wasm' },
  { module: '@tensorflow/tfjs', backend: 'cpu' },
];

const TFJS_INSTALL_HINT =
  'install one: npm install @tensorflow/tfjs (pure JavaScript; add @tensorflow/tfjs-backend-wasm for the faster '
  + 'WebAssembly backend), npm install @tensorflow/tfjs-node (native TensorFlow on the CPU) or '
  + 'npm install @tensorflow/tfjs-node-gpu (native TensorFlow with CUDA)';

/** What provides each backend, when one is asked for. */
const BACKEND_INSTALL_HINT: Readonly<Record<TfjsBackendName, string>> = {
  tensorflow: 'run npm install @tensorflow/tfjs-node (native TensorFlow on the CPU) or npm install @tensorflow/tfjs-node-gpu (with CUDA)',
  wasm: 'run npm install @tensorflow/tfjs @tensorflow/tfjs-backend-wasm',
  cpu: 'run npm install @tensorflow/tfjs',
};

const CUDA_INSTALL_HINT = 'run npm install @tensorflow/tfjs-node-gpu (native TensorFlow with CUDA)';

export interface TfjsResolveOptions {
  /** Restricts the search to one backend; default: the first candidate that loads. */
  backend?: TfjsBackendName;
  /** Only the candidates that run on CUDA (device 'cuda'): tfjs-node, say, would run on the CPU instead. */
  cuda?: boolean;
  /** Candidates in order of preference; default `TFJS_CANDIDATES`. */
  candidates?: readonly TfjsCandidate[];
  /** Imports a package by name; replaceable (e.g. to simulate missing packages). */
  importModule?: (name: string) => Promise<unknown>;
}

export interface TfjsRuntime {
  tf: TfjsModule;
  /** The active backend's name, as `tf.getBackend()` reports it. */
  backend: TfjsBackendName;
  /** The package the API came from. */
  module: string;
}

const importPackage = (name: string): Promise<unknown> => import(name);

/** tfjs' CommonJS entry points come through `import()` with their API on the namespace or its default. */
function asTfjs(namespace: unknown): TfjsModule {
  const candidate = namespace as Partial<TfjsModule> & { default?: Partial<TfjsModule> };
  const api = typeof candidate.setBackend === 'function' ? candidate : candidate.default;
  if (!api || typeof api.setBackend !== 'function' || typeof api.loadGraphModel !== 'function') {
    throw new Error('the package does not export the TensorFlow.js API (setBackend, loadGraphModel)');
  }
  return api as TfjsModule;
}

async function load(candidate: TfjsCandidate, importModule: (name: string) => Promise<unknown>): Promise<TfjsRuntime> {
  const tf = asTfjs(await importModule(candidate.module));
  if (candidate.backendModule) await importModule(candidate.backendModule);
  // setBackend resolves false (after logging) when a registered backend fails to initialise.
  if (!(await tf.setBackend(candidate.backend))) throw new Error(`backend ${candidate.backend} failed to initialise`);
  await tf.ready();
  const runtime = { tf, backend: candidate.backend, module: candidate.module };
  const failure = backendFailure(runtime);
  if (failure !== undefined) throw new BackendStopped(`it stopped earlier in this process (${failure}) and cannot run again until the process restarts`);
  return runtime;
}

/** A backend that is installed, but stopped for good (`backendFailure`): installing it is no way on. */
class BackendStopped extends Error {}

/** The WebAssembly API's error class (the project's TypeScript libs do not declare the API). */
const { RuntimeError: WasmRuntimeError } = (globalThis as unknown as { WebAssembly: { RuntimeError: new () => Error } }).WebAssembly;

/**
 * Why a tfjs backend (its instance in the engine) can no longer run. A WebAssembly module that
 * trapped or aborted (the wasm backend out of its 4 GB, mostly) is left with its memory in an
 * unknown state: every later kernel, load or dispose on it fails ('memory access out of bounds'),
 * or could compute from damaged memory.
 */
const failedBackends = new WeakMap<object, string>();

const backendInstance = ({ tf, backend }: TfjsRuntime): object | undefined => tf.findBackend(backend) ?? undefined;

/** What stopped `runtime`'s backend for good, or undefined while it works. */
export function backendFailure(runtime: TfjsRuntime): string | undefined {
  const instance = backendInstance(runtime);
  return instance === undefined ? undefined : failedBackends.get(instance);
}

/**
 * Records `error` as the end of `runtime`'s backend when it is a WebAssembly trap or abort;
 * returns its words then ('memory access out of bounds'), else undefined. `where` says what ran
 * ('on a [1, 3, 4096, 4096] input'), for the errors of later calls.
 */
export function recordBackendFailure(runtime: TfjsRuntime, error: unknown, where: string): string | undefined {
  if (!(error instanceof WasmRuntimeError)) return undefined;
  // An abort's own message goes on about building with assertions.
  const reason = errorLine(error).replace(/\. Build with -sASSERTIONS.*$/, '');
  const instance = backendInstance(runtime);
  if (instance !== undefined && !failedBackends.has(instance)) failedBackends.set(instance, `${where}: ${reason}`);
  return reason;
}

/**
 * Loads the first TensorFlow.js runtime that works and makes its backend the active one.
 * Throws one `BackendError` listing why each candidate failed and what to install.
 */
export async function resolveTfjsRuntime(options: TfjsResolveOptions = {}): Promise<TfjsRuntime> {
  const candidates = (options.candidates ?? TFJS_CANDIDATES).filter((c) => (options.backend === undefined || c.backend === options.backend) && (!options.cuda || c.cuda));
  const importModule = options.importModule ?? importPackage;
  const failures: string[] = [];
  let onlyStopped = candidates.length > 0;
  for (const candidate of candidates) {
    try {
      return await load(candidate, importModule);
    } catch (err) {
      const what = candidate.backendModule ? `${candidate.module} + ${candidate.backendModule}` : candidate.module;
      failures.push(`  ${what} (${candidate.backend}): ${errorLine(err)}`);
      onlyStopped &&= err instanceof BackendStopped;
    }
  }
  const wanted = `${options.backend ? `with the ${options.backend} backend ` : ''}${options.cuda ? 'on CUDA ' : ''}`;
  const hint = options.cuda ? CUDA_INSTALL_HINT : options.backend ? BACKEND_INSTALL_HINT[options.backend] : TFJS_INSTALL_HINT;
  throw new BackendError(`No TensorFlow.js runtime ${wanted}could be loaded:\n${failures.join('\n')}${onlyStopped ? '' : `\nTo use the tfjs backend, ${hint}`}`);
}
