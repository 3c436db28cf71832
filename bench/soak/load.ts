import { gql, type Counters } from './client.js';
import type { Deliveries } from './subscribers.js';

const BATCH = `mutation IngestBatch($inputs: [ThreatEventInput!]!) {
  ingestThreatEvents(inputs: $inputs) { accepted duplicates errors { index message } }
}`;
const SINGLE = `mutation IngestOne($input: ThreatEventInput!) { ingestThreatEvent(input: $input) { id } }`;

export const QUERIES: readonly [string, string][] = [
  [
    'threatEvents',
    `query Events { threatEvents(first: 50) { totalCount pageInfo { hasNextPage endCursor }
      edges { node { id severity occurredAt geo { countryCode } classification { category isAnomaly } } } } }`,
  ],
  ['statsSummary', 'query Summary { statsSummary { threatEvents alerts decisions countries } }'],
  ['countryStats', 'query Countries { countryStats(limit: 50) { countryCode threatEvents alerts } }'],
  ['threatMap', 'query Map { threatMap { countryCode latitude longitude count maxSeverity } }'],
  ['health', 'query Health { health { status database redis geoip } }'],
];

export interface LoadOptions {
  url: string;
  ingestKey: string;
  readerKey: string;
  tag: string;
  batchSize: number;
  batchEveryMs: number;
  singleEveryMs: number;
  queryLoops: number;
  queryEveryMs: number;
}

/**
 * The mixed load: ingest batches and single events on a fixed schedule (a late tick is
 * sent at once, not skipped, and counted), and `queryLoops` loops each sending one of
 * QUERIES every `queryEveryMs`. Every event gets a fresh sequence number in its externalId.
 */
export function startLoad(o: LoadOptions, counters: Counters, deliveries: Deliveries) {
  let running = true;
  let seq = 0;
  const late = { batch: 0, single: 0 };
  const notAccepted = { duplicates: 0, itemErrors: 0 };
  /** `health { redis }` as the queries saw it, when it changed (ms on the soak clock). */
  const redisHealth: { at: number; value: string }[] = [];
  const { pool } = deliveries;
  const nextEvent = () => {
    const s = seq++;
    const base = pool[s % pool.length]!.input;
    return {
      seq: s,
      input: {
        ...base,
        externalId: `${o.tag}-${s}`,
        occurredAt: new Date(Date.now() - (s % 60_000)).toISOString(),
      },
    };
  };
  const mark = (seqs: number[], sentAt: number) => {
    for (const s of seqs) if (s < deliveries.sentAt.length) deliveries.sentAt[s] = sentAt;
  };
  const ack = (seqs: number[]) => {
    for (const s of seqs) if (s < deliveries.acked.length) deliveries.acked[s] = 1;
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  const scheduled = async (everyMs: number, kind: 'batch' | 'single', send: () => Promise<void>) => {
    let next = performance.now();
    while (running) {
      await send();
      next += everyMs;
      const wait = next - performance.now();
      if (wait > 0) await sleep(wait);
      else {
        late[kind] += 1;
        next = performance.now();
      }
    }
  };

  const sendBatch = async () => {
    const events = Array.from({ length: o.batchSize }, nextEvent);
    const seqs = events.map((e) => e.seq);
    mark(seqs, counters.now());
    const r = await gql(counters, o.url, o.ingestKey, 'ingestThreatEvents', BATCH, {
      inputs: events.map((e) => e.input),
    });
    const res = r.data?.ingestThreatEvents as
      { accepted: number; duplicates: number; errors: { index: number }[] } | undefined;
    if (!res) return;
    notAccepted.duplicates += res.duplicates;
    notAccepted.itemErrors += res.errors.length;
    const refused = new Set(res.errors.map((e) => e.index));
    if (res.duplicates === 0) ack(seqs.filter((_, i) => !refused.has(i)));
  };
  const sendSingle = async () => {
    const e = nextEvent();
    mark([e.seq], counters.now());
    const r = await gql(counters, o.url, o.ingestKey, 'ingestThreatEvent', SINGLE, { input: e.input });
    if (r.data?.ingestThreatEvent) ack([e.seq]);
  };
  const queryLoop = async (lane: number) => {
    for (let i = lane; running; i++) {
      const [op, query] = QUERIES[i % QUERIES.length]!;
      const r = await gql(counters, o.url, o.readerKey, op, query);
      const redis = (r.data?.health as { redis?: string } | undefined)?.redis;
      if (redis && redisHealth.at(-1)?.value !== redis)
        redisHealth.push({ at: counters.now(), value: redis });
      await sleep(o.queryEveryMs);
    }
  };

  const loops = [
    scheduled(o.batchEveryMs, 'batch', sendBatch),
    scheduled(o.singleEveryMs, 'single', sendSingle),
    ...Array.from({ length: o.queryLoops }, (_, lane) => queryLoop(lane)),
  ];
  return {
    late,
    notAccepted,
    redisHealth,
    sent: () => seq,
    async stop(): Promise<void> {
      running = false;
      await Promise.all(loops);
    },
  };
}
