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
import got, { RequestError } from 'got';
import type { Logger } from '../platform/logger.js';
import { DecisionStreamParser, type DecisionBatch, type DecisionList } from './decision-stream-parser.js';
import { LapiError } from './lapi-types.js';

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
  /** The client's mapping of a non-2xx answer (status, body text) to its typed error. */
  httpFailure: (status: number, body: string) => LapiError;
  /** The client's mapping of a transport failure (refused, timed out, reset). */
  transportFailure: (err: RequestError) => LapiError;
}

/** Enough of an error body to read the LAPI's message; the rest is not read. */
const ERROR_BODY_BYTES = 64 * 1024;

/**
 * Yields batches in body order and returns the totals. Transient failures are retried
 * (bounded, with backoff) only until the first batch went out: after that the caller
 * has acted on part of the snapshot and must decide itself (the poller resynchronises
 * on its next run, which is safe because a snapshot is idempotent).
 */
export async function* streamSnapshot(req: SnapshotRequest): AsyncGenerator<DecisionBatch, SnapshotTotals> {
  const progress = { handedOut: false };
  for (let attempt = 0; ; attempt++) {
    try {
      return yield* streamOnce(req, progress);
    } catch (err) {
      const transient =
        err instanceof LapiError &&
        (err.kind === 'UNREACHABLE' || err.kind === 'TIMEOUT' || err.kind === 'SERVER_ERROR');
      if (progress.handedOut || !transient || attempt >= req.retries) throw err;
      const delay = 200 * 2 ** attempt;
      req.log.warn({ kind: err.kind, attempt: attempt + 1, delay }, 'LAPI snapshot failed; retrying');
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

async function* streamOnce(
  req: SnapshotRequest,
  progress: { handedOut: boolean },
): AsyncGenerator<DecisionBatch, SnapshotTotals> {
  const request = got.stream(req.url, {
    headers: { ...req.headers, accept: 'application/json' },
    searchParams: req.searchParams,
    timeout: { connect: req.timeoutMs, response: req.timeoutMs, socket: req.timeoutMs },
    retry: { limit: 0 },
    throwHttpErrors: false,
    followRedirect: false,
  });
  try {
    const response = await new Promise<{ statusCode: number; headers: Record<string, unknown> }>(
      (resolve, reject) => {
        request.once('response', resolve);
        request.once('error', reject);
      },
    ).catch((err: unknown) => {
      throw mapError(req, err);
    });
    if (response.statusCode < 200 || response.statusCode >= 300) {
      throw req.httpFailure(response.statusCode, await readSome(request, ERROR_BODY_BYTES));
    }
    const declared = Number(response.headers['content-length'] ?? 0);
    if (declared > req.maxBytes) throw tooLarge(req);

    const parser = new DecisionStreamParser(req.batchSize);
    let bytes = 0;
    try {
      for await (const chunk of request as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        if (bytes > req.maxBytes) throw tooLarge(req);
        parser.write(chunk);
        for (const batch of parser.take()) {
          progress.handedOut = true;
          yield batch;
        }
      }
    } catch (err) {
      throw mapError(req, err);
    }
    parser.end();
    for (const batch of parser.take()) {
      progress.handedOut = true;
      yield batch;
    }
    return parser.totals();
  } finally {
    // Also runs when the caller stops early (a failed write): drop the connection.
    request.destroy();
  }
}

async function readSome(stream: AsyncIterable<Buffer>, limit: number): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      parts.push(chunk);
      size += chunk.length;
      if (size >= limit) break;
    }
  } catch {
    // The status already says what went wrong; a broken error body adds nothing.
  }
  return Buffer.concat(parts).toString('utf8').slice(0, limit);
}

function mapError(req: SnapshotRequest, err: unknown): unknown {
  if (err instanceof LapiError) return err;
  if (err instanceof RequestError) return req.transportFailure(err);
  return err;
}

function tooLarge(req: SnapshotRequest): LapiError {
  return new LapiError(
    'RESPONSE_TOO_LARGE',
    `GET /v1/decisions/stream: snapshot exceeds ${req.maxBytes} bytes`,
    { method: 'GET', path: '/v1/decisions/stream' },
  );
}
