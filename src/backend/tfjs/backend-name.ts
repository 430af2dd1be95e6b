/**
 * The TensorFlow.js backends the resolver can activate, apart from `runtime.ts`: the public
 * options name them, and their declarations must not import the optional tfjs packages.
 * `tensorflow` is tfjs-node's (native TensorFlow).
 */
export type TfjsBackendName = 'tensorflow' | 'wasm' | 'cpu';
export const TFJS_BACKENDS: readonly TfjsBackendName[] = ['tensorflow', 'wasm', 'cpu'];

/** Why tfjs' GPU backends of the browser are not among them, for the errors that refuse one. */
export const BROWSER_BACKENDS_NOTE = 'WebGL and WebGPU are for browsers: export-tfjs writes a model that they load';
