/**
 * From an unpickled checkpoint to the official HigherHRNet state dict: finding the tensors
 * inside the published wrappings, renaming them to the reference names, and checking them
 * against an expected list of names and shapes.
 */
import { CheckpointError, TensorRef, describe, type PickleValue } from './pickle.js';
import type { CheckpointTensor } from './pth.js';
import { typeName } from '../values.js';

/** Keys under which training scripts store the state dict, in order of preference. */
const WRAPPER_KEYS = ['state_dict', 'model'];

/** Nesting depth of wrappers searched (`{model: {state_dict: …}}` is two). */
const MAX_WRAPPER_DEPTH = 3;

/**
 * The tensors of the state dict inside `root`: `root` itself when it is a dict of tensors,
 * else the dict under `state_dict` (or `model`), recursively. Keys are returned unchanged.
 */
export function unwrapStateDict(root: PickleValue): Map<string, TensorRef> {
  let current = root;
  const path: string[] = [];
  for (let depth = 0; depth <= MAX_WRAPPER_DEPTH; depth++) {
    const where = path.length === 0 ? 'top level' : `'${path.join('.')}'`;
    if (!(current instanceof Map)) throw new CheckpointError(`expected a dict at ${where}, found ${describe(current)}`);
    if ([...current.values()].some((v) => v instanceof TensorRef)) return tensorEntries(current, where);
    const key = WRAPPER_KEYS.find((k) => current instanceof Map && current.has(k));
    if (key === undefined) {
      // The first keys only: a file of thousands (an optimizer's state, say) would fill the screen.
      const keys = listNames([...current.keys()].map((k) => describe(k)));
      throw new CheckpointError(`no state dict found at ${where} (no tensors, no 'state_dict' or 'model' entry; keys: ${keys || 'none'})`);
    }
    current = current.get(key) as PickleValue;
    path.push(key);
  }
  throw new CheckpointError(`no state dict found within ${MAX_WRAPPER_DEPTH} levels of wrapping`);
}

function tensorEntries(dict: Map<PickleValue, PickleValue>, where: string): Map<string, TensorRef> {
  const tensors = new Map<string, TensorRef>();
  for (const [key, value] of dict) {
    if (typeof key !== 'string') throw new CheckpointError(`state dict at ${where} has a non-string key ${describe(key)}`);
    if (!(value instanceof TensorRef)) throw new CheckpointError(`state dict entry '${key}' is ${describe(value)}, not a tensor`);
    tensors.set(key, value);
  }
  return tensors;
}

/** Wrapper prefixes: `module.` from DataParallel, `1.` reported on some `.pth.tar` releases. */
const WRAPPER_PREFIXES = ['module.', '1.'];

/** mmpose head modules that the official model has at top level. */
const MMPOSE_HEAD_MODULES = ['final_layers.', 'deconv_layers.'];

/** The official name of a checkpoint key (mmpose and wrapper prefixes removed). */
function officialName(raw: string): string {
  let name = raw;
  for (let stripped = true; stripped; ) {
    const prefix = WRAPPER_PREFIXES.find((p) => name.startsWith(p));
    stripped = prefix !== undefined;
    if (prefix !== undefined) name = name.slice(prefix.length);
  }
  if (name.startsWith('backbone.')) return name.slice('backbone.'.length);
  if (name.startsWith('keypoint_head.')) {
    const rest = name.slice('keypoint_head.'.length);
    if (MMPOSE_HEAD_MODULES.some((m) => rest.startsWith(m))) return rest;
  }
  return name;
}

/** Renames every tensor to its official name; two keys landing on one name is an error. */
export function normaliseNames(tensors: Map<string, CheckpointTensor>): Map<string, CheckpointTensor> {
  const out = new Map<string, CheckpointTensor>();
  const origin = new Map<string, string>();
  for (const [raw, tensor] of tensors) {
    const name = officialName(raw);
    const previous = origin.get(name);
    if (previous !== undefined) throw new CheckpointError(`tensors '${previous}' and '${raw}' both map to '${name}'`);
    origin.set(name, raw);
    out.set(name, { ...tensor, name });
  }
  return out;
}

/** An expected tensor: `{name, shape}`, or a manifest row `[name, shape, dtype]`. */
export type ExpectedTensor = { name: string; shape: readonly number[] } | readonly [string, readonly number[], ...unknown[]];

/** BatchNorm's step counter: not used at inference, present in some checkpoints only. */
const isOptional = (name: string): boolean => name.endsWith('.num_batches_tracked');

/** Names listed in an error message per category (and keys of a dict without a state dict); the error object holds them all. */
const LISTED_PER_CATEGORY = 20;

/** A state dict that does not match the expected tensors; lists every problem by name. */
export class StateDictMismatchError extends CheckpointError {
  override name = 'StateDictMismatchError';
  constructor(
    message: string,
    readonly missing: string[],
    readonly unexpected: string[],
    readonly shapeMismatches: { name: string; shape: number[]; expected: number[] }[],
  ) {
    super(message);
  }
}

/**
 * Checks that `sd` holds exactly the expected names with the expected shapes
 * (`*.num_batches_tracked` may be absent or extra). Throws one `StateDictMismatchError`
 * naming every missing, unexpected and wrongly shaped tensor.
 */
export function validateStateDict(
  sd: ReadonlyMap<string, { shape: readonly number[] }>,
  expected: readonly ExpectedTensor[],
  source = 'checkpoint',
): void {
  // Else TypeErrors from inside ('expected.map is not a function' for a whole layer graph).
  if (!(sd instanceof Map)) throw new CheckpointError(`${source}: the state dict must be a Map of tensors by name (loadStateDict gives one), got ${typeName(sd)}`);
  if (!Array.isArray(expected)) {
    const graph = typeof expected === 'object' && expected !== null && 'parameters' in expected ? ': a layer graph\'s are graph.parameters' : '';
    throw new CheckpointError(`${source}: the expected tensors must be a list of { name, shape } (buildNetworkGraph(config.model).parameters), got ${typeName(expected)}${graph}`);
  }
  const wanted = new Map(expected.map(expectedEntry));
  const missing = [...wanted.keys()].filter((name) => !sd.has(name) && !isOptional(name));
  const unexpected = [...sd.keys()].filter((name) => !wanted.has(name) && !isOptional(name));
  const shapeMismatches: { name: string; shape: number[]; expected: number[] }[] = [];
  for (const [name, shape] of wanted) {
    const actual = sd.get(name)?.shape;
    if (actual !== undefined && !sameShape(actual, shape)) shapeMismatches.push({ name, shape: [...actual], expected: [...shape] });
  }
  if (missing.length + unexpected.length + shapeMismatches.length === 0) return;
  const lines = [
    `${source}: state dict does not match the expected tensors (${missing.length} missing, ${unexpected.length} unexpected, ${shapeMismatches.length} with the wrong shape)`,
  ];
  if (missing.length > 0) lines.push(`  missing: ${listNames(missing)}`);
  if (unexpected.length > 0) lines.push(`  unexpected: ${listNames(unexpected)}`);
  if (shapeMismatches.length > 0) {
    const shown = shapeMismatches.map((m) => `${m.name} [${m.shape}] (expected [${m.expected}])`);
    lines.push(`  wrong shape: ${listNames(shown)}`);
  }
  throw new StateDictMismatchError(lines.join('\n'), missing, unexpected, shapeMismatches);
}

function expectedEntry(e: ExpectedTensor): [string, readonly number[]] {
  return 'name' in e ? [e.name, e.shape] : [e[0], e[1]];
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function listNames(names: string[]): string {
  const shown = names.slice(0, LISTED_PER_CATEGORY).join(', ');
  return names.length > LISTED_PER_CATEGORY ? `${shown}, … and ${names.length - LISTED_PER_CATEGORY} more` : shown;
}
