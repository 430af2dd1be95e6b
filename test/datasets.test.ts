/** The keypoint definitions, as the public `keypointDefinition` hands them out. */
import { expect } from 'chai';
import { ConfigError, COCO_KEYPOINTS, CROWDPOSE_KEYPOINTS, keypointDefinition } from '../src/index.js';

describe('keypointDefinition', () => {
  it("gives each dataset's joints, flip order, skeleton and sigmas, all of one length", () => {
    expect(keypointDefinition('coco')).to.equal(COCO_KEYPOINTS);
    expect(keypointDefinition('crowdpose')).to.equal(CROWDPOSE_KEYPOINTS);
    for (const def of [COCO_KEYPOINTS, CROWDPOSE_KEYPOINTS]) {
      expect(def.flipIndex).to.have.length(def.names.length);
      expect(def.sigmas).to.have.length(def.names.length);
      expect(def.skeleton.flat().every((j) => j >= 0 && j < def.names.length)).to.equal(true);
    }
  });

  it('BAD CALL - a name that is no dataset kind is a ConfigError naming the kinds, not CrowdPose', () => {
    // The reference's DATASET.DATASET names, and a slip of case.
    for (const kind of ['coco_kpt', 'crowd_pose_kpt', 'COCO', undefined]) {
      expect(() => keypointDefinition(kind as never), String(kind)).to.throw(ConfigError, /Unknown dataset kind .*: must be 'coco' or 'crowdpose'/);
    }
  });
});
