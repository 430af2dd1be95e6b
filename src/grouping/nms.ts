/**
 * Heatmap non-maximum suppression (reference `HeatmapParser.nms`): a stride-1 max pool with
 * the configured kernel and padding (padding never wins, as torch pads max pooling with
 * -Infinity); values equal to their pooled maximum are kept, the others multiplied by 0.
 */

/** Max over a window of `kernel` starting `padding` before each index, along rows (step 1) or columns (step width). */
function windowMax(src: Float32Array, dst: Float32Array, length: number, lines: number, along: number, across: number, kernel: number, padding: number): void {
  for (let line = 0; line < lines; line++) {
    const base = line * across;
    for (let i = 0; i < length; i++) {
      const from = Math.max(0, i - padding);
      const to = Math.min(length - 1, i - padding + kernel - 1);
      let m = -Infinity;
      for (let t = from; t <= to; t++) {
        const v = src[base + t * along];
        if (v > m) m = v;
      }
      dst[base + i * along] = m;
    }
  }
}

/**
 * NMS of one `height` x `width` heatmap into `out` (same size; the caller checks that the
 * kernel and padding keep the size, i.e. kernel = 2 * padding + 1).
 */
export function suppressNonMaxima(det: Float32Array, height: number, width: number, kernel: number, padding: number, out: Float32Array): void {
  const rowMax = new Float32Array(height * width);
  windowMax(det, rowMax, width, height, 1, width, kernel, padding);
  windowMax(rowMax, out, height, width, width, 1, kernel, padding);
  for (let i = 0; i < out.length; i++) out[i] = out[i] === det[i] ? det[i] : det[i] * 0;
}
