/** A priority queue for the branch-and-bound search of top-k. */

/** A binary max-heap of integer items by float keys. */
export class MaxHeap {
  private items = new Int32Array(64);
  private keys = new Float64Array(64);
  size = 0;

  clear(): void {
    this.size = 0;
  }

  /** Replaces the content with `items` keyed by `keys` (heapified in linear time). */
  fill(items: ArrayLike<number>, keys: ArrayLike<number>): void {
    this.size = 0;
    this.reserve(items.length);
    for (let i = 0; i < items.length; i++) {
      this.items[i] = items[i];
      this.keys[i] = keys[i];
    }
    this.size = items.length;
    for (let i = (this.size >> 1) - 1; i >= 0; i--) this.siftDown(i, this.items[i], this.keys[i]);
  }

  topKey(): number {
    return this.keys[0];
  }

  push(item: number, key: number): void {
    this.reserve(this.size + 1);
    let at = this.size++;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (this.keys[parent] >= key) break;
      this.items[at] = this.items[parent];
      this.keys[at] = this.keys[parent];
      at = parent;
    }
    this.items[at] = item;
    this.keys[at] = key;
  }

  pop(): number {
    const top = this.items[0];
    this.size -= 1;
    this.siftDown(0, this.items[this.size], this.keys[this.size]);
    return top;
  }

  /** Places `item` with `key` at `at` or below, restoring the heap order under `at`. */
  private siftDown(start: number, item: number, key: number): void {
    let at = start;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= this.size) break;
      if (child + 1 < this.size && this.keys[child + 1] > this.keys[child]) child += 1;
      if (this.keys[child] <= key) break;
      this.items[at] = this.items[child];
      this.keys[at] = this.keys[child];
      at = child;
    }
    this.items[at] = item;
    this.keys[at] = key;
  }

  private reserve(capacity: number): void {
    if (capacity <= this.items.length) return;
    const size = Math.max(capacity, 2 * this.items.length);
    const items = new Int32Array(size);
    const keys = new Float64Array(size);
    items.set(this.items);
    keys.set(this.keys);
    [this.items, this.keys] = [items, keys];
  }
}
