/**
 * Network weights by state-dict name, as float32. Produced from a checkpoint (see
 * `src/model/load.ts`) or, for benchmarks, deterministically at random.
 */
import type { LayerGraph } from '../backbone/graph.js';
import { ConfigError } from '../config/experiment.js';
import { typeName } from '../values.js';

export interface WeightTensor {
  shape: number[];
  data: Float32Array;
}

export type Weights = ReadonlyMap<string, WeightTensor>;

/** A small, fast deterministic generator (mulberry32) of values in [0, 1); weights only need to be repeatable. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Deterministic random weights for every tensor of `graph`: He-style scaled convolutions and
 * BatchNorm statistics near identity, so activations stay in a sane range through the depth
 * of the full-size networks. Speed does not depend on weight values.
 */
export function randomWeights(graph: LayerGraph, seed = 1): Map<string, WeightTensor> {
  // Else 'graph.parameters is not iterable' for the configuration the graph is built from.
  if (!Array.isArray(graph?.parameters)) throw new ConfigError(`randomWeights: graph must be a layer graph (buildNetworkGraph(config.model) builds one), got ${typeName(graph)}`);
  const random = seededRandom(seed);
  const weights = new Map<string, WeightTensor>();
  for (const { name, shape } of graph.parameters) {
    const size = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    const field = name.slice(name.lastIndexOf('.') + 1);
    if (field === 'weight' && shape.length === 4) {
      const fanIn = shape[1] * shape[2] * shape[3];
      const bound = Math.sqrt(3 / fanIn);
      for (let i = 0; i < size; i++) data[i] = (2 * random() - 1) * bound;
    } else if (field === 'running_var') {
      for (let i = 0; i < size; i++) data[i] = 0.5 + random();
    } else if (field === 'weight') {
      for (let i = 0; i < size; i++) data[i] = 0.5 + 0.5 * random();
    } else if (field !== 'num_batches_tracked') {
      for (let i = 0; i < size; i++) data[i] = 0.1 * (2 * random() - 1);
    }
    weights.set(name, { shape, data });
  }
  return weights;
}
