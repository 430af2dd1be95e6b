/** The aggregated maps as the grouping kernels read them: flat C-order planes. */
export interface GroupingMaps {
  /** `[J, H, W]` heatmaps. */
  det: Float32Array;
  numJoints: number;
  height: number;
  width: number;
  /** `[T, H, W, K]` tag maps; T = J, or 1 when one tag map is shared by all joints. */
  tags: Float32Array;
  tagChannels: number;
  tagDim: number;
}
