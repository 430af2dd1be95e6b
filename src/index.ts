/** higher-pose: HigherHRNet bottom-up multi-person pose estimation for Node.js. */
// The declarations name Node's types (Buffer, streams): kept in index.d.ts so that a consumer's
// tsconfig need not list "node" in `types` (TypeScript 6 and later include no @types by default).
/// <reference types="node" preserve="true" />
export { createEstimator, testSettings, type EstimatorOptions, type HigherHRNetEstimator, type StageTimes } from './estimator.js';
export type { TfjsBackendName } from './backend/tfjs/backend-name.js';
export { decodePoses, aggregate, group, toImageCoordinates, DecodeError, type DecodeResult, type ImageGeometry, type PoseSelection, type ScaleOutputs } from './decode.js';
export { Workspace } from './workspace.js';
export { CallbackError } from './callback-error.js';
export type { Person, PersonInput, Keypoint, BoundingBox, RgbImage, ImageDataLike, TensorLike, CanvasPixels, ImageInput, OutputTensor, PoseEstimator, EstimationOptions } from './types.js';
export type { AbortSignalLike } from './abort-signal.js';
export type { DeepReadonly } from './values.js';
export { COCO_KEYPOINTS, CROWDPOSE_KEYPOINTS, keypointDefinition, type KeypointDefinition } from './datasets.js';
export { parseConfig, loadConfigFile, ConfigError, type OptionFault, type ExperimentConfig, type ReadonlyExperimentConfig, type TestSettings, type ModelSpec, type DatasetKind } from './config/experiment.js';
export type { OptionNamer, OptionWords } from './config/option-names.js';
export { isPresetName, presetConfig, PRESET_NAMES, type PresetName } from './config/presets.js';
export { buildNetworkGraph } from './higher/network.js';
export type { LayerGraph, LayerNode } from './backbone/graph.js';
export { loadStateDict, readCheckpoint, validateStateDict, CheckpointError, StateDictMismatchError } from './checkpoint/index.js';
export { compileModel, createNetwork, createOnnxNetwork, resolveConfig, type BackendName, type NetworkOptions, type PrecisionOptions, type WeightsSource } from './model/load.js';
export { quantizeForImages, calibrationInputs, type CalibrationOptions, type Precision } from './model/quantize.js';
export { quantizeModel, isQuantizedModel, QuantizationError, type ActivationRange, type ActivationRanges } from './backend/onnx/quantize.js';
export { randomWeights, type Weights, type WeightTensor } from './model/weights.js';
export { BackendError, type OnnxSessionOptions, type ExecutionProvider } from './backend/onnx/session.js';
export type { Network } from './backend/network.js';
export { readImage, ImageError, type ReadImageOptions, type ImageErrorCode } from './io/image.js';
export { testScaleInputs, toNetworkInput, toFlipPairInput, PreprocessError, type TestScaleInputs, type ScaledInput, type AffineMatrix } from './preprocess/index.js';
export { drawPoses, type OverlayOptions, type Rgb } from './render/overlay.js';
export { ZOO, findEntry, ZooError, type ZooEntry, type DirectEntry, type ManualEntry, type ManualDownload, type ReportedResults, type StatName, type Naming } from './zoo/catalog.js';
export { fetchWeights, type FetchWeightsOptions, type DownloadProgress } from './zoo/download.js';
export type { ProcessVideoOptions, VideoRun, FrameResult, VideoTimings, StageTiming } from './video/process.js';
export { VideoError, type DecodeOptions, type VideoSource, type VideoFrame, type VideoInfo } from './video/decode.js';
export type { RenderOptions } from './video/overlay-video.js';
export { PoseTracker, type TrackerOptions } from './tracking/tracker.js';
export { OneEuroFilter, PoseSmoother, type OneEuroOptions, type PoseSmootherOptions } from './tracking/one-euro.js';
