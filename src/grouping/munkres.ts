/**
 * Minimum-cost assignment with the Munkres (Hungarian) algorithm, following python `munkres`
 * 1.1 (the library the reference grouping calls) step for step: the same padding, the same
 * scan orders (step 2 stars the first free zero of each row; step 4 resumes its zero search
 * where the previous one stopped, wrapping around), so that among equal-cost assignments —
 * frequent with the reference's rounded tag distances — the same one is returned.
 */

const STAR = 1;
const PRIME = 2;

interface State {
  n: number;
  cost: Float64Array; // n x n, row-major
  marked: Uint8Array; // 0, STAR or PRIME
  rowCovered: Uint8Array;
  colCovered: Uint8Array;
}

/** munkres `pad_matrix`: squares the matrix with zeros (extra columns right, extra rows below). */
function padToSquare(matrix: readonly (readonly number[])[]): { n: number; cost: Float64Array } {
  const n = Math.max(matrix.length, ...matrix.map((row) => row.length));
  const cost = new Float64Array(n * n);
  matrix.forEach((row, i) => row.forEach((v, j) => (cost[i * n + j] = v)));
  return { n, cost };
}

function clearCovers(s: State): void {
  s.rowCovered.fill(0);
  s.colCovered.fill(0);
}

/** Step 1: subtract each row's minimum from the row. */
function reduceRows(s: State): void {
  const { n, cost } = s;
  for (let i = 0; i < n; i++) {
    let min = cost[i * n];
    for (let j = 1; j < n; j++) if (cost[i * n + j] < min) min = cost[i * n + j];
    for (let j = 0; j < n; j++) cost[i * n + j] -= min;
  }
}

/** Step 2: star the first zero of each row whose column has no star yet. */
function starZeros(s: State): void {
  const { n, cost } = s;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (cost[i * n + j] === 0 && !s.colCovered[j] && !s.rowCovered[i]) {
        s.marked[i * n + j] = STAR;
        s.colCovered[j] = 1;
        s.rowCovered[i] = 1;
        break;
      }
    }
  }
  clearCovers(s);
}

/** Step 3: cover the columns holding a star; true when all n are covered (done). */
function coverStarredColumns(s: State): boolean {
  const { n } = s;
  let count = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (s.marked[i * n + j] === STAR && !s.colCovered[j]) {
        s.colCovered[j] = 1;
        count += 1;
      }
    }
  }
  return count >= n;
}

/**
 * munkres `__find_a_zero(i0, j0)`: scans rows from i0 and, within a row, columns from j0, both
 * wrapping around. The library does not stop at the first hit inside a row: it finishes the
 * row, so the result is the last uncovered zero (in scan order) of the first row holding one.
 */
function findUncoveredZero(s: State, i0: number, j0: number): [number, number] {
  const { n, cost } = s;
  let i = i0;
  do {
    // A covered row holds no uncovered zero: skipped whole.
    if (!s.rowCovered[i]) {
      let found = -1;
      for (let j = j0; j < n; j++) if (cost[i * n + j] === 0 && !s.colCovered[j]) found = j;
      for (let j = 0; j < j0; j++) if (cost[i * n + j] === 0 && !s.colCovered[j]) found = j;
      if (found >= 0) return [i, found];
    }
    i = (i + 1) % n;
  } while (i !== i0);
  return [-1, -1];
}

function findInRow(s: State, row: number, mark: number): number {
  for (let j = 0; j < s.n; j++) if (s.marked[row * s.n + j] === mark) return j;
  return -1;
}

function findStarInCol(s: State, col: number): number {
  for (let i = 0; i < s.n; i++) if (s.marked[i * s.n + col] === STAR) return i;
  return -1;
}

/**
 * Step 4: prime uncovered zeros; a primed zero with a star in its row covers the row and
 * uncovers the star's column. Returns the primed zero without a star in its row (go to step
 * 5), or null when no uncovered zero is left (go to step 6).
 */
function primeZeros(s: State): [number, number] | null {
  let row = 0;
  let col = 0;
  for (;;) {
    [row, col] = findUncoveredZero(s, row, col);
    if (row < 0) return null;
    s.marked[row * s.n + col] = PRIME;
    const starCol = findInRow(s, row, STAR);
    if (starCol < 0) return [row, col];
    col = starCol;
    s.rowCovered[row] = 1;
    s.colCovered[col] = 0;
  }
}

/** Step 5: alternate primes and stars from `start`, flip them, clear covers and primes. */
function augmentPath(s: State, start: [number, number]): void {
  const path: [number, number][] = [start];
  for (;;) {
    const row = findStarInCol(s, path[path.length - 1][1]);
    if (row < 0) break;
    path.push([row, path[path.length - 1][1]]);
    path.push([row, findInRow(s, row, PRIME)]);
  }
  for (const [i, j] of path) s.marked[i * s.n + j] = s.marked[i * s.n + j] === STAR ? 0 : STAR;
  clearCovers(s);
  for (let k = 0; k < s.marked.length; k++) if (s.marked[k] === PRIME) s.marked[k] = 0;
}

/** Step 6: add the smallest uncovered value to covered rows, subtract it from uncovered columns. */
function shiftCosts(s: State): void {
  const { n, cost } = s;
  let min = Infinity;
  for (let i = 0; i < n; i++) {
    if (s.rowCovered[i]) continue;
    for (let j = 0; j < n; j++) if (!s.colCovered[j] && cost[i * n + j] < min) min = cost[i * n + j];
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (s.rowCovered[i]) cost[i * n + j] += min;
      if (!s.colCovered[j]) cost[i * n + j] -= min;
    }
  }
}

/**
 * munkres `Munkres().compute(matrix)`: the (row, column) pairs of a minimum-cost assignment,
 * ordered by row, restricted to the original (unpadded) matrix. Costs must be finite.
 */
export function munkres(matrix: readonly (readonly number[])[]): [number, number][] {
  if (matrix.length === 0 || matrix[0].length === 0) return [];
  const { n, cost } = padToSquare(matrix);
  const s: State = { n, cost, marked: new Uint8Array(n * n), rowCovered: new Uint8Array(n), colCovered: new Uint8Array(n) };
  reduceRows(s);
  starZeros(s);
  while (!coverStarredColumns(s)) {
    let start = primeZeros(s);
    while (start === null) {
      shiftCosts(s);
      start = primeZeros(s);
    }
    augmentPath(s, start);
  }
  const rows = matrix.length;
  const cols = matrix[0].length;
  const pairs: [number, number][] = [];
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) if (s.marked[i * n + j] === STAR) pairs.push([i, j]);
  }
  return pairs;
}
