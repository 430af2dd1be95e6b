/** higher-pose: HigherHRNet bottom-up multi-person pose estimation for Node.js. */
export { createEstimator, testSettings, type EstimatorOptions, type HigherHRNetEstimator, type BackendName } from './estimator.js';
export { decodePoses, aggregate, group, toImageCoordinates, DecodeError, type DecodeResult, type ImageGeometry, type ScaleOutputs } from './decode.js';
export type { Person, Keypoint, BoundingBox, RgbImage, ImageInput, OutputTensor, PoseEstimator } from './types.js';
export { COCO_KEYPOINTS, CROWDPOSE_KEYPOINTS, keypointDefinition, type KeypointDefinition } from './datasets.js';
export { parseConfig, loadConfigFile, ConfigError, type ExperimentConfig, type TestSettings, type ModelSpec } from './config/experiment.js';
export { presetConfig, PRESET_NAMES, type PresetName } from './config/presets.js';
export { buildNetworkGraph } from './higher/network.js';
export type { LayerGraph, LayerNode } from './backbone/graph.js';
export { loadStateDict, readCheckpoint, validateStateDict, CheckpointError, StateDictMismatchError } from './checkpoint/index.js';
export { compileModel, createOnnxNetwork, resolveConfig } from './model/load.js';
export { randomWeights, type Weights, type WeightTensor } from './model/weights.js';
export { BackendError, type OnnxSessionOptions } from './backend/onnx/session.js';
export type { Network } from './backend/network.js';
export { readImage, ImageError } from './io/image.js';
export { testScaleInputs, toNetworkInput, PreprocessError } from './preprocess/index.js';
export { drawPoses } from './render/overlay.js';
export { ZOO, findEntry, ZooError } from './zoo/catalog.js';
export { fetchWeights } from './zoo/download.js';
