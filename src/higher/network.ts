/** The whole HigherHRNet network as one layer graph, built from a model configuration. */
import { modelArgument, type ModelSpec } from '../config/experiment.js';
import { GraphBuilder, type LayerGraph, type ParameterSpec } from '../backbone/graph.js';
import { buildBackbone } from '../backbone/hrnet.js';
import { buildHead } from './head.js';

/**
 * The reference registers all final layers before all deconvolution layers, while the
 * graph interleaves them in execution order; list parameters in the state-dict order.
 */
function stateDictOrder(parameters: ParameterSpec[]): ParameterSpec[] {
  const rank = (p: ParameterSpec): number => (p.name.startsWith('final_layers.') ? 1 : p.name.startsWith('deconv_layers.') ? 2 : 0);
  return parameters.map((p, i) => ({ p, i })).sort((a, b) => rank(a.p) - rank(b.p) || a.i - b.i).map(({ p }) => p);
}

/** The layer graph of the network `model` describes (`config.model`); a ConfigError names a field it cannot be built from. */
export function buildNetworkGraph(given: ModelSpec): LayerGraph {
  const model = modelArgument(given, 'buildNetworkGraph');
  const g = new GraphBuilder('image');
  const { features, channels } = buildBackbone(g, model);
  const graph = g.finish(buildHead(g, model, features, channels));
  return { ...graph, parameters: stateDictOrder(graph.parameters) };
}
