/**
 * Minimum-cost assignment of a rectangular cost matrix (Hungarian method with potentials,
 * O(n²m)). Small and dependency-free: tracking matches a handful of people per frame.
 */

/**
 * `cost[i][j]` is the cost of giving row i column j (finite numbers; use a large value for
 * pairs that must not match and filter them afterwards). Returns, for each row, its column,
 * or -1 when there are more rows than columns and the row is left out. The total cost of the
 * assigned pairs is minimal among assignments of min(rows, columns) pairs.
 */
export function minCostAssignment(cost: readonly (readonly number[])[]): number[] {
  const rows = cost.length;
  const cols = rows === 0 ? 0 : cost[0]!.length;
  if (cost.some((row) => row.length !== cols)) throw new RangeError('minCostAssignment: rows of different lengths');
  if (rows === 0 || cols === 0) return new Array<number>(rows).fill(-1);
  if (rows > cols) {
    // The method needs rows ≤ columns: solve the transpose and invert it.
    const transposed = Array.from({ length: cols }, (_, j) => cost.map((row) => row[j]!));
    const byCol = minCostAssignment(transposed);
    const result = new Array<number>(rows).fill(-1);
    byCol.forEach((row, col) => (result[row] = col));
    return result;
  }
  // 1-based potentials u (rows) and v (columns); p[j] is the row matched to column j (0: none).
  const u = new Float64Array(rows + 1);
  const v = new Float64Array(cols + 1);
  const p = new Int32Array(cols + 1);
  const way = new Int32Array(cols + 1);
  for (let i = 1; i <= rows; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Float64Array(cols + 1).fill(Infinity);
    const used = new Uint8Array(cols + 1);
    do {
      used[j0] = 1;
      const i0 = p[j0]!;
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= cols; j++) {
        if (used[j]) continue;
        const cur = cost[i0 - 1]![j - 1]! - u[i0]! - v[j]!;
        if (cur < minv[j]!) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j]! < delta) {
          delta = minv[j]!;
          j1 = j;
        }
      }
      for (let j = 0; j <= cols; j++) {
        if (used[j]) {
          u[p[j]!]! += delta;
          v[j]! -= delta;
        } else {
          minv[j]! -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0]!;
      p[j0] = p[j1]!;
      j0 = j1;
    } while (j0 !== 0);
  }
  const result = new Array<number>(rows).fill(-1);
  for (let j = 1; j <= cols; j++) if (p[j]! > 0) result[p[j]! - 1] = j - 1;
  return result;
}
