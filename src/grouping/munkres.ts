/**
 * Minimum-cost assignment with the Munkres (Hungarian) algorithm, following python `munkres`
 * 1.1 (the library the reference grouping calls) step for step: the same padding, the same
 * scan orders (step 2 stars the first free zero of each row; step 4 resumes its zero search
 * where the previous one stopped, wrapping around), so that among equal-cost assignments —
 * frequent with the reference's rounded tag distances — the same one is returned.
 */

/**
 * The marks as the library keeps them in an n x n matrix, held per row and column instead
 * (a row or column has one star at most, a row one prime at most): the same steps without
 * scanning the matrix for them. -1: none.
 */
interface State {
  n: number;
  cost: Float64Array; // n x n, row-major
  starInRow: Int32Array;
  starInColumn: Int32Array;
  primeInRow: Int32Array;
  rowCovered: Uint8Array;
  colCovered: Uint8Array;
  /** Per row, the columns of its zeros in ascending order (`[row * n + k]`, `zeroCount[row]` of them): made again when the costs change. */
  zeroColumns: Int32Array;
  zeroCount: Int32Array;
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

function star(s: State, row: number, col: number): void {
  s.starInRow[row] = col;
  s.starInColumn[col] = row;
}

/** Lists each row's zeros (the costs changed). */
function listZeros(s: State): void {
  const { n, cost } = s;
  for (let i = 0; i < n; i++) {
    let count = 0;
    for (let j = 0; j < n; j++) if (cost[i * n + j] === 0) s.zeroColumns[i * n + count++] = j;
    s.zeroCount[i] = count;
  }
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
      if (cost[i * n + j] === 0 && s.starInColumn[j] < 0) {
        star(s, i, j);
        break;
      }
    }
  }
}

/** Step 3: cover the columns holding a star; true when all n are covered (done). */
function coverStarredColumns(s: State): boolean {
  let count = 0;
  for (let j = 0; j < s.n; j++) {
    if (s.starInColumn[j] < 0) continue;
    s.colCovered[j] = 1;
    count += 1;
  }
  return count >= s.n;
}

/** Where `findUncoveredZero` found its zero (row -1: none). */
let zeroRow = -1;
let zeroCol = -1;

/**
 * munkres `__find_a_zero(i0, j0)`: scans rows from i0 and, within a row, columns from j0, both
 * wrapping around. The library does not stop at the first hit inside a row: it finishes the
 * row, so the result is the last uncovered zero (in scan order) of the first row holding one.
 * The result goes to `zeroRow`, `zeroCol`.
 */
function findUncoveredZero(s: State, i0: number, j0: number): void {
  const { n } = s;
  let i = i0;
  do {
    // A covered row holds no uncovered zero: skipped whole. In a row, the last in scan order
    // is the largest uncovered zero column below j0, else the largest at or above it.
    if (!s.rowCovered[i]) {
      let found = -1;
      let fromJ0 = -1;
      for (let k = s.zeroCount[i] - 1; k >= 0; k--) {
        const j = s.zeroColumns[i * n + k];
        if (s.colCovered[j]) continue;
        if (j < j0) {
          found = j;
          break;
        }
        if (fromJ0 < 0) fromJ0 = j;
      }
      if (found < 0) found = fromJ0;
      if (found >= 0) {
        zeroRow = i;
        zeroCol = found;
        return;
      }
    }
    i = (i + 1) % n;
  } while (i !== i0);
  zeroRow = zeroCol = -1;
}

/**
 * Step 4: prime uncovered zeros; a primed zero with a star in its row covers the row and
 * uncovers the star's column. Returns the row of the primed zero without a star in its row
 * (go to step 5; its column is `primeInRow[row]`), or -1 when no uncovered zero is left (go
 * to step 6).
 */
function primeZeros(s: State): number {
  let row = 0;
  let col = 0;
  for (;;) {
    findUncoveredZero(s, row, col);
    if (zeroRow < 0) return -1;
    [row, col] = [zeroRow, zeroCol];
    s.primeInRow[row] = col;
    const starCol = s.starInRow[row];
    if (starCol < 0) return row;
    col = starCol;
    s.rowCovered[row] = 1;
    s.colCovered[col] = 0;
  }
}

/**
 * Step 5: from the primed zero in row `start`, alternate stars (in the prime's column) and
 * primes (in the star's row); the path's primes become stars and its stars lose theirs. Covers
 * and primes are cleared.
 */
function augmentPath(s: State, start: number): void {
  const rows: number[] = [];
  for (let row = start; row >= 0; row = s.starInColumn[s.primeInRow[row]]) rows.push(row);
  // Unstarred before starring: a star and the prime that replaces it share a column.
  for (const row of rows) {
    const col = s.starInRow[row];
    if (col >= 0) s.starInColumn[col] = s.starInRow[row] = -1;
  }
  for (const row of rows) star(s, row, s.primeInRow[row]);
  clearCovers(s);
  s.primeInRow.fill(-1);
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
  const none = () => new Int32Array(n).fill(-1);
  const s: State = {
    n, cost, starInRow: none(), starInColumn: none(), primeInRow: none(), rowCovered: new Uint8Array(n), colCovered: new Uint8Array(n),
    zeroColumns: new Int32Array(n * n), zeroCount: new Int32Array(n),
  };
  reduceRows(s);
  listZeros(s);
  starZeros(s);
  while (!coverStarredColumns(s)) {
    let start = primeZeros(s);
    while (start < 0) {
      shiftCosts(s);
      listZeros(s);
      start = primeZeros(s);
    }
    augmentPath(s, start);
  }
  const cols = matrix[0].length;
  const pairs: [number, number][] = [];
  for (let i = 0; i < matrix.length; i++) if (s.starInRow[i] >= 0 && s.starInRow[i] < cols) pairs.push([i, s.starInRow[i]]);
  return pairs;
}
