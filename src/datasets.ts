/**
 * Keypoint definitions of the two datasets HigherHRNet is published for: names, the
 * left/right flip permutation used by flip test, skeleton edges for drawing, and the
 * per-joint OKS sigmas of the official evaluations.
 */
import { ConfigError, type DatasetKind } from './config/experiment.js';
import { frozen, shownValue } from './values.js';

export interface KeypointDefinition {
  kind: DatasetKind;
  names: readonly string[];
  /** flipIndex[j] is the joint that j becomes in a horizontally mirrored image. */
  flipIndex: readonly number[];
  /** Pairs of joint indices to connect when drawing. */
  skeleton: readonly (readonly [number, number])[];
  /** OKS sigmas, per joint, as the dataset's evaluation defines them. */
  sigmas: readonly number[];
}

// Frozen: every estimator, drawing and tracker of the dataset shares its definition.
export const COCO_KEYPOINTS: KeypointDefinition = frozen<KeypointDefinition>({
  kind: 'coco',
  names: [
    'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder', 'right_shoulder',
    'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist', 'left_hip', 'right_hip',
    'left_knee', 'right_knee', 'left_ankle', 'right_ankle',
  ],
  flipIndex: [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15],
  skeleton: [
    [15, 13], [13, 11], [16, 14], [14, 12], [11, 12], [5, 11], [6, 12], [5, 6], [5, 7],
    [6, 8], [7, 9], [8, 10], [1, 2], [0, 1], [0, 2], [1, 3], [2, 4], [3, 5], [4, 6],
  ],
  sigmas: [0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89].map((s) => s / 10),
});

export const CROWDPOSE_KEYPOINTS: KeypointDefinition = frozen<KeypointDefinition>({
  kind: 'crowdpose',
  names: [
    'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist',
    'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle', 'head', 'neck',
  ],
  flipIndex: [1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 12, 13],
  skeleton: [
    [12, 13], [13, 0], [13, 1], [0, 2], [2, 4], [1, 3], [3, 5], [0, 6], [1, 7], [6, 7],
    [6, 8], [8, 10], [7, 9], [9, 11],
  ],
  sigmas: [0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89, 0.79, 0.79].map((s) => s / 10),
});

const DEFINITIONS: Readonly<Record<DatasetKind, KeypointDefinition>> = { coco: COCO_KEYPOINTS, crowdpose: CROWDPOSE_KEYPOINTS };

/** The keypoints of dataset `kind`; a ConfigError for another name (the reference's `coco_kpt` too). */
export function keypointDefinition(kind: DatasetKind): KeypointDefinition {
  if (!Object.hasOwn(DEFINITIONS, kind)) throw new ConfigError(`Unknown dataset kind ${shownValue(kind)}: must be 'coco' or 'crowdpose'`);
  return DEFINITIONS[kind];
}
