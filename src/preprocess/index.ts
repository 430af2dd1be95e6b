/** Test-time preprocessing of the reference: aligned multi-scale sizes, affine resize, normalisation. */
export {
  affineTransform,
  applyAffine,
  getAffineTransform,
  warpAffineBilinear,
  type AffineMatrix,
  type Point,
} from './affine.js';
export {
  fewestHeatmapPositions,
  inputSizeProblem,
  multiScaleSize,
  testScaleInputs,
  PreprocessError,
  type MultiScaleSize,
  type ScaledInput,
  type TestScaleInputs,
} from './scale.js';
export { toNetworkInput, toFlipPairInput } from './normalize.js';
