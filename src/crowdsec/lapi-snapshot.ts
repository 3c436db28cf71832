/**
 * The streamed startup snapshot (`GET /v1/decisions/stream?startup=true`). The body
 * is read as a stream and parsed incrementally; each batch is handed to the caller
 * and the next chunk is only read once the caller asks for more, so the HTTP
 * back-pressure keeps at most one socket buffer plus one batch in memory however
 * large the snapshot is.
 *
 * Limits differ from buffered calls on purpose: there is no whole-request timeout (a
 * 100,000-decision snapshot written to the database batch by batch can take longer
 * than one ordinary call), but connecting, the first response byte and every idle
 * gap on the socket are bounded by `timeoutMs`. The byte cap only guards against a
 * runaway server (memory does not grow with it); one decision is capped separately
 * by the parser.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { openStream, withRetries, type UpstreamStream } from '../platform/http-client.js';
import type { Logger } from '../platform/logger.js';
import { DecisionStreamParser, type DecisionBatch, type DecisionList } from './decision-stream-parser.js';
import { LAPI_BACKOFF, lapiRetryVerdict } from './lapi-http.js';
import type { LapiError } from './lapi-types.js';

export type SnapshotTotals = Readonly<Record<DecisionList, number>>;

export interface SnapshotRequest {
  url: string;
  headers: Record<string, string>;
  searchParams: Record<string, string>;
  timeoutMs: number;
  maxBytes: number;
  batchSize: number;
  retries: number;
  log: Logger;
  /** The client's mapping of a non-2xx answer (status, body text, headers) to its typed error. */
  httpFailure: (status: number, body: string, headers: IncomingHttpHeaders) => LapiError;
  /** The client's mapping of a transport failure (refused, timed out, reset, too large). */
  transportFailure: (err: unknown) => unknown;
}

/** Enough of an error body to read the LAPI's message; the rest is not read. */
const ERROR_BODY_BYTES = 64 * 1024;

/** An open snapshot: the response body, the parser it feeds and the batches ready to hand out. */
interface Reading {
  source: UpstreamStream;
  chunks: AsyncIterator<Buffer>;
  parser: DecisionStreamParser;
  ready: DecisionBatch[];
  more: boolean;
}

/**
 * Yields batches in body order and returns the totals. Transient failures are retried
 * (bounded, with backoff) only until the first batch is ready: after that the caller
 * has acted on part of the snapshot and must decide itself (the poller resynchronises
 * on its next run, which is safe because a snapshot is idempotent).
 */
export async function* streamSnapshot(req: SnapshotRequest): AsyncGenerator<DecisionBatch, SnapshotTotals> {
  const reading = await withRetries(
    () => start(req),
    lapiRetryVerdict,
    { ...LAPI_BACKOFF, retries: req.retries },
    ({ error, attempt, delayMs }) =>
      req.log.warn(
        { kind: (error as LapiError).kind, attempt, delay: delayMs },
        'LAPI snapshot failed; retrying',
      ),
  );
  try {
    for (;;) {
      yield* reading.ready;
      if (!reading.more) return reading.parser.totals();
      reading.more = await readChunk(reading, req);
      reading.ready = reading.parser.take();
    }
  } finally {
    // Also runs when the caller stops early (a failed write): drop the connection.
    reading.source.close();
  }
}

/** Opens the stream and reads until the first batch is ready (or the body ends). */
async function start(req: SnapshotRequest): Promise<Reading> {
  const source = await openStream({
    url: req.url,
    headers: { ...req.headers, accept: 'application/json' },
    searchParams: req.searchParams,
    timeouts: { connectMs: req.timeoutMs, responseMs: req.timeoutMs, idleMs: req.timeoutMs },
    maxBytes: req.maxBytes,
  }).catch((err: unknown) => {
    throw req.transportFailure(err);
  });
  try {
    if (source.status < 200 || source.status >= 300) {
      throw req.httpFailure(source.status, await source.readText(ERROR_BODY_BYTES), source.headers);
    }
    const reading: Reading = {
      source,
      chunks: source.body[Symbol.asyncIterator](),
      parser: new DecisionStreamParser(req.batchSize),
      ready: [],
      more: true,
    };
    while (reading.ready.length === 0 && reading.more) {
      reading.more = await readChunk(reading, req);
      reading.ready = reading.parser.take();
    }
    return reading;
  } catch (err) {
    source.close();
    throw err;
  }
}

/** Feeds the next chunk to the parser; false once the body has ended. */
async function readChunk(reading: Reading, req: SnapshotRequest): Promise<boolean> {
  const next = await reading.chunks.next().catch((err: unknown) => {
    throw req.transportFailure(err);
  });
  if (next.done) {
    reading.parser.end();
    return false;
  }
  reading.parser.write(next.value);
  return true;
}
