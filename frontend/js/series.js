// A bounded time series: columns of numbers indexed by step, in fixed memory.
//
// Points are averaged into buckets of `stride` consecutive points. When the
// arrays fill up, neighbouring buckets merge pairwise and the stride doubles,
// so a run of any length stays fully visible, evenly thinned, and the page's
// memory stays flat however long it plays. Pure: no DOM.

export class Series {
  /**
   * @param {string[]} fields  names of the value columns
   * @param {number} capacity  even number of stored buckets
   */
  constructor(fields, capacity = 4096) {
    if (capacity < 2 || capacity % 2) throw new Error("capacity must be an even number ≥ 2");
    this.fields = fields;
    this.capacity = capacity;
    this.steps = new Float64Array(capacity);
    this.values = fields.map(() => new Float64Array(capacity));
    this.clear();
  }

  clear() {
    this.length = 0;
    this.stride = 1;
    this.lastStep = -Infinity;
    this._open = false; // the last stored bucket still takes points
    this._pending = 0;
    this._sum = this.fields.map(() => 0);
    this._n = this.fields.map(() => 0);
  }

  /** Add one point; points at or before the last step are ignored (duplicates, stale frames). */
  push(step, ...values) {
    if (!(step > this.lastStep)) return false;
    this.lastStep = step;
    if (!this._open) {
      if (this.length === this.capacity) this._merge();
      this.length += 1;
      this._open = true;
      this._pending = 0;
      this._sum.fill(0);
      this._n.fill(0);
    }
    const i = this.length - 1;
    this.steps[i] = step;
    for (let k = 0; k < this.fields.length; k++) {
      const v = values[k];
      if (Number.isFinite(v) || v === Infinity || v === -Infinity) {
        this._sum[k] += v;
        this._n[k] += 1;
      }
      this.values[k][i] = this._n[k] ? this._sum[k] / this._n[k] : NaN;
    }
    this._pending += 1;
    if (this._pending >= this.stride) this._open = false;
    return true;
  }

  /** Add many points from parallel arrays (e.g. a frame's points.step / points.loss / points.lr). */
  pushMany(steps, ...columns) {
    let added = 0;
    const row = new Array(columns.length);
    for (let i = 0; i < steps.length; i++) {
      for (let k = 0; k < columns.length; k++) row[k] = columns[k][i];
      if (this.push(steps[i], ...row)) added++;
    }
    return added;
  }

  _merge() {
    const half = this.length >> 1;
    for (let i = 0; i < half; i++) {
      this.steps[i] = this.steps[2 * i + 1];
      for (const col of this.values) {
        const a = col[2 * i];
        const b = col[2 * i + 1];
        col[i] = Number.isNaN(a) ? b : Number.isNaN(b) ? a : (a + b) / 2;
      }
    }
    this.length = half;
    this.stride *= 2;
  }

  /** Index of the last stored bucket with step ≤ `step` (−1 when none). Binary search. */
  indexAt(step) {
    let lo = 0;
    let hi = this.length - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.steps[mid] <= step) {
        best = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return best;
  }

  /** Index of the stored bucket whose step is nearest to `step` (−1 when empty). */
  nearest(step) {
    const i = this.indexAt(step);
    if (i < 0) return this.length ? 0 : -1;
    if (i + 1 < this.length && this.steps[i + 1] - step < step - this.steps[i]) return i + 1;
    return i;
  }

  column(name) {
    return this.values[this.fields.indexOf(name)].subarray(0, this.length);
  }

  get last() {
    if (!this.length) return null;
    const i = this.length - 1;
    const out = { step: this.steps[i] };
    this.fields.forEach((f, k) => (out[f] = this.values[k][i]));
    return out;
  }
}
