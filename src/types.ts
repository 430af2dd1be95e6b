/** Plain data types shared by the pipeline stages and the public API. */
import type { NdArray } from 'ndarray';
import type { AbortSignalLike } from './abort-signal.js';

/** 8-bit RGB pixels, row-major, 3 bytes per pixel, no padding. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

export interface Keypoint {
  /** The joint's name in the dataset's keypoint definition (`COCO_KEYPOINTS.names`), in its order. */
  name: string;
  /** Image pixels. */
  x: number;
  y: number;
  /**
   * Heatmap value at the keypoint (0..1 for a trained model). 0 for a joint neither detected nor
   * found by refine: its x, y are then the image point of heatmap pixel (0, 0), not a position.
   */
  score: number;
}

export interface BoundingBox {
  xMin: number;
  yMin: number;
  xMax: number;
  yMax: number;
  width: number;
  height: number;
}

export interface Person {
  /**
   * Mean of the scores of all the dataset's joints, 0 counted for each one not detected, before
   * refine fills some in: the reference's person score.
   */
  score: number;
  keypoints: Keypoint[];
  /** Box around the keypoints found (score > 0); all zeros when none is. */
  box: BoundingBox;
  /** Track id, set by video tracking. */
  id?: number;
}

/**
 * A person as drawPoses, PoseTracker and PoseSmoother take one: as the estimator gives it, or built
 * by a caller, whose id may be undefined (`{ ...person, id: maybeId }`), which each takes as no id.
 */
export interface PersonInput extends Omit<Person, 'id'> {
  id?: number | undefined;
}

/** One network output, NCHW float32 (batch 1): `[1, C, H, W]`. */
export type OutputTensor = NdArray<Float32Array>;

/**
 * 8-bit pixels, row-major, no padding, as canvases and sharp give them: an `ImageData`
 * (`ctx.getImageData()` of node-canvas or @napi-rs/canvas: RGBA in a Uint8ClampedArray), or
 * sharp's raw output as `{ data, ...info }`. `channels` (by default `data.length / (width *
 * height)`) is 3 (RGB), 4 (RGBA: the alpha is dropped, not composited, as a PNG's when decoded)
 * or 1 (gray, replicated to RGB, as a gray PNG's).
 */
export interface ImageDataLike {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  channels?: number | undefined;
}

/**
 * Pixels as a canvas holds them (RGBA in a Uint8ClampedArray over an ArrayBuffer): `drawPoses`' result
 * for an ImageData, which `new ImageData(data, width, height)` and `putImageData` take.
 */
export interface CanvasPixels {
  data: Uint8ClampedArray<ArrayBuffer>;
  width: number;
  height: number;
}

/**
 * A TensorFlow.js tensor holding an image, as `tf.node.decodeImage(bytes, 3)` or `tf.browser.fromPixels`
 * give one: shape `[height, width, channels]` (or `[1, height, width, channels]`, a batch of one), channels
 * 3 (RGB), 4 (RGBA: the alpha dropped) or 1 (gray), values integers 0–255 of any numeric dtype (int32, float32;
 * not bool). Told by its shape, dtype, rank, data and dataSync (tfjs is not imported); read with `data()`,
 * never disposed: the caller owns it.
 */
export interface TensorLike {
  readonly shape: readonly number[];
  readonly dtype: string;
  readonly rank: number;
  readonly isDisposed?: boolean | undefined;
  data(): Promise<ArrayLike<unknown>>;
  dataSync(): ArrayLike<unknown>;
}

/** What `estimatePoses` accepts: a file path, encoded image bytes (JPEG/PNG/WebP…), pixels (RGB, RGBA or gray), or a TensorFlow.js tensor of them. */
export type ImageInput = string | Uint8Array | RgbImage | ImageDataLike | TensorLike;

/** Options of one `estimatePoses` call (the model's are `createEstimator`'s). */
export interface EstimationOptions {
  /**
   * Cancels the call: it rejects with `signal.reason` (an `AbortError` DOMException from a bare
   * `controller.abort()`, as fetch does) when aborted before it starts, while it waits for its
   * turn (`imagesInFlight`), or between stages; a network run under way finishes first. Another
   * realm's signal (a jsdom window's) or a polyfill's does as well.
   */
  signal?: AbortSignalLike | undefined;
}

/** The estimator returned by `createEstimator` (see src/estimator.ts). */
export interface PoseEstimator {
  /** People in one image, best first, in image pixel coordinates. */
  estimatePoses(image: ImageInput, options?: EstimationOptions): Promise<Person[]>;
  /**
   * Lets the calls made before it finish, then releases the network; calls after it reject
   * with a `BackendError`. Calling it again gives the same promise.
   */
  dispose(): Promise<void>;
}
