/**
 * Turns subscription results into feed rows and hands them to React at most once per
 * animation frame: at 1,000 events/s a re-render per event would freeze the page.
 */
export type FeedKind = 'threat' | 'decision' | 'unban' | 'alert' | 'ioc';
export const feedKinds: readonly FeedKind[] = ['threat', 'decision', 'unban', 'alert', 'ioc'];
export const kindLabels: Record<FeedKind, string> = {
  threat: 'Threats',
  decision: 'New decisions',
  unban: 'Deleted decisions',
  alert: 'CrowdSec alerts',
  ioc: 'Enriched IOCs',
};

export interface FeedRow {
  key: string;
  kind: FeedKind;
  at: number;
  title: string;
  detail: string;
  severity?: number;
  country?: string | null;
}

/** Rows kept in memory (and so at most this many in the virtual list). */
export const maxRows = 2_000;
/** Minutes of per-kind counters kept for the rate strip. */
export const counterMinutes = 10;

export interface FeedSnapshot {
  rows: FeedRow[];
  /** Rows that arrived while paused (capped at maxRows; heldDropped counts the rest). */
  held: number;
  heldDropped: number;
  /** minute start (ms) → count per kind, newest minute first. */
  minutes: { start: number; counts: Record<FeedKind, number> }[];
  total: number;
}

const zero = (): Record<FeedKind, number> => ({ threat: 0, decision: 0, unban: 0, alert: 0, ioc: 0 });

export class FeedBuffer {
  private pending: FeedRow[] = [];
  private held: FeedRow[] = [];
  private heldDropped = 0;
  private rows: FeedRow[] = [];
  private minutes: FeedSnapshot['minutes'] = [];
  private total = 0;
  private frame = 0;
  private paused = false;
  private snap: FeedSnapshot = { rows: [], held: 0, heldDropped: 0, minutes: [], total: 0 };
  private readonly listeners = new Set<() => void>();
  private seq = 0;

  push(row: Omit<FeedRow, 'key'>): void {
    this.count(row.kind, row.at);
    this.pending.push({ ...row, key: `${row.kind}-${++this.seq}` });
    // rAF does not run in a hidden tab: keep only what could ever be shown.
    if (this.pending.length > maxRows) this.pending.splice(0, this.pending.length - maxRows);
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flush());
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
    if (!paused) {
      this.pending = [...this.held, ...this.pending];
      this.held = [];
      this.heldDropped = 0;
    }
    this.flush();
  }

  clear(): void {
    this.rows = [];
    this.held = [];
    this.heldDropped = 0;
    this.flush();
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  snapshot = (): FeedSnapshot => this.snap;

  dispose(): void {
    cancelAnimationFrame(this.frame);
    this.listeners.clear();
  }

  private count(kind: FeedKind, at: number): void {
    this.total++;
    const start = Math.floor(at / 60_000) * 60_000;
    let head = this.minutes[0];
    if (!head || head.start < start) {
      head = { start, counts: zero() };
      this.minutes = [head, ...this.minutes].slice(0, counterMinutes);
    }
    const bucket = this.minutes.find((m) => m.start === start) ?? head;
    bucket.counts[kind]++;
  }

  private flush(): void {
    this.frame = 0;
    const batch = this.pending;
    this.pending = [];
    if (this.paused) {
      this.held.push(...batch);
      const over = this.held.length - maxRows;
      if (over > 0) {
        this.held.splice(0, over);
        this.heldDropped += over;
      }
    } else if (batch.length > 0) {
      batch.reverse();
      this.rows =
        batch.length >= maxRows ? batch.slice(0, maxRows) : [...batch, ...this.rows].slice(0, maxRows);
    }
    this.snap = {
      rows: this.rows,
      held: this.held.length,
      heldDropped: this.heldDropped,
      minutes: this.minutes.map((m) => ({ start: m.start, counts: { ...m.counts } })),
      total: this.total,
    };
    this.listeners.forEach((l) => l());
  }
}
