import { useEffect, useState } from 'react';
import type { ThreatCategory } from './gql/graphql';

/**
 * Every member of the schema's ThreatCategory enum, in the order the console lists them.
 * Codegen gives the console the enum as a type only; a record keyed by it makes the
 * typecheck fail when the schema gains or loses a member and this list does not.
 */
const CATEGORY_ORDER: Record<ThreatCategory, number> = {
  BRUTEFORCE: 0,
  SCAN: 1,
  EXPLOIT: 2,
  MALWARE: 3,
  PHISHING: 4,
  DDOS: 5,
  BOTNET: 6,
  SPAM: 7,
  PROXY: 8,
  CRAWLER: 9,
  OTHER: 10,
};

export const categories: readonly ThreatCategory[] = (Object.keys(CATEGORY_ORDER) as ThreatCategory[]).sort(
  (a, b) => CATEGORY_ORDER[a] - CATEGORY_ORDER[b],
);

export function isCategory(value: string | null): value is ThreatCategory {
  return value !== null && (categories as readonly string[]).includes(value);
}

/** 1–10 severity to a colour ramp from informational to critical. */
export function severityColor(severity: number): string {
  if (severity >= 9) return '#d7263d';
  if (severity >= 7) return '#f46036';
  if (severity >= 5) return '#f2b134';
  if (severity >= 3) return '#2e86ab';
  return '#7d8597';
}

export function intParam(value: string | null, min: number, max: number): number | undefined {
  if (value === null || !/^\d+$/.test(value)) return undefined;
  const n = Number(value);
  return n >= min && n <= max ? n : undefined;
}

export function countryParam(value: string | null): string | undefined {
  return value && /^[A-Za-z]{2}$/.test(value) ? value.toUpperCase() : undefined;
}

export const fmtTime = (iso: string | number | Date): string => new Date(iso).toLocaleString();

export function SeveritySelect(props: { value?: number; onChange(v?: number): void; label?: string }) {
  return (
    <label>
      {props.label ?? 'Min severity'}
      <select
        value={props.value ?? ''}
        onChange={(e) => props.onChange(e.target.value ? Number(e.target.value) : undefined)}
      >
        <option value="">any</option>
        {Array.from({ length: 10 }, (_, i) => i + 1).map((n) => (
          <option key={n} value={n}>
            ≥ {n}
          </option>
        ))}
      </select>
    </label>
  );
}

export function CategorySelect(props: { value?: ThreatCategory; onChange(v?: ThreatCategory): void }) {
  return (
    <label>
      Category
      <select
        value={props.value ?? ''}
        onChange={(e) => props.onChange(isCategory(e.target.value) ? e.target.value : undefined)}
      >
        <option value="">any</option>
        {categories.map((c) => (
          <option key={c}>{c}</option>
        ))}
      </select>
    </label>
  );
}

/** Free text; the filter applies once two letters (an ISO 3166-1 alpha-2 code) are typed. */
export function CountryInput(props: { value?: string; onChange(v?: string): void }) {
  const [text, setText] = useState(props.value ?? '');
  return (
    <label>
      Country
      <input
        className="cc"
        value={text}
        maxLength={2}
        placeholder="e.g. FR"
        onChange={(e) => {
          const v = e.target.value.toUpperCase().replace(/[^A-Z]/g, '');
          setText(v);
          if (v.length === 2) props.onChange(v);
          else if (v.length === 0) props.onChange(undefined);
        }}
      />
    </label>
  );
}

/** Re-renders every intervalMs (countdowns). */
export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(t);
  }, [intervalMs]);
  return now;
}

export function countdown(untilIso: string, now: number): string {
  const s = Math.round((new Date(untilIso).getTime() - now) / 1000);
  if (s <= 0) return 'expired';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h ${m}m` : `${m}m ${s % 60}s`;
}

/** Cursor paging: a stack of the cursors that led to the current page. */
export function usePager(resetKey: string) {
  const [stack, setStack] = useState<string[]>([]);
  const [key, setKey] = useState(resetKey);
  if (key !== resetKey) {
    setKey(resetKey);
    setStack([]);
  }
  return {
    after: stack[stack.length - 1] ?? null,
    page: stack.length + 1,
    next: (cursor?: string | null) => cursor && setStack((s) => [...s, cursor]),
    prev: () => setStack((s) => s.slice(0, -1)),
    first: () => setStack([]),
  };
}

export function Pager(props: {
  pager: ReturnType<typeof usePager>;
  hasNext?: boolean;
  endCursor?: string | null;
  total?: number;
}) {
  const { pager } = props;
  return (
    <div className="filters pager">
      <button disabled={pager.page === 1} onClick={pager.first}>
        First
      </button>
      <button disabled={pager.page === 1} onClick={pager.prev}>
        Previous
      </button>
      <span>
        page {pager.page}
        {props.total !== undefined ? ` · ${props.total} in all` : ''}
      </span>
      <button disabled={!props.hasNext} onClick={() => pager.next(props.endCursor)}>
        Next
      </button>
    </div>
  );
}
