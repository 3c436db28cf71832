/**
 * Remembers the scores of recently seen feature vectors.
 *
 * The anomaly features (features.ts) are all discrete — ports, port classes, severity,
 * confidence rounded to 0.05, protocol flags, hour, counts — so sensor traffic repeats
 * the same few hundred vectors, and a score is a pure function of its vector and the
 * model. Looking a vector up here costs a hash of its values and one comparison; walking
 * the isolation forest costs ~400 node visits. Entries are checked value by value, so a
 * hash collision is a miss, never a wrong score. When full, the table starts over (the
 * model is refitted far more often than the traffic's vocabulary changes).
 */
export class ScoreMemo {
  private readonly table = new Map<number, { vector: Float64Array; score: number }>();
  hits = 0;
  misses = 0;

  constructor(
    private readonly width: number,
    private readonly capacity = 8192,
  ) {}

  get size(): number {
    return this.table.size;
  }

  /** The remembered score of `vector`'s first `width` values, or computes and remembers it. */
  score(vector: ArrayLike<number>, compute: (vector: ArrayLike<number>) => number): number {
    const key = this.hash(vector);
    const entry = this.table.get(key);
    if (entry !== undefined && this.same(entry.vector, vector)) {
      this.hits++;
      return entry.score;
    }
    this.misses++;
    const score = compute(vector);
    if (this.table.size >= this.capacity) this.table.clear();
    const copy = new Float64Array(this.width);
    for (let i = 0; i < this.width; i++) copy[i] = vector[i] ?? 0;
    this.table.set(key, { vector: copy, score });
    return score;
  }

  private hash(vector: ArrayLike<number>): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < this.width; i++) {
      // Features are integers or multiples of 0.05: scaled, they hash exactly.
      h = Math.imul(h ^ Math.round((vector[i] ?? 0) * 1000), 0x01000193);
    }
    return h;
  }

  private same(stored: Float64Array, vector: ArrayLike<number>): boolean {
    for (let i = 0; i < this.width; i++) if (stored[i] !== (vector[i] ?? 0)) return false;
    return true;
  }
}
