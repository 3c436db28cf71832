/**
 * One upstream GET with got: connect and total timeouts, no got-level retries (the
 * adapter decides, so quota is never spent behind its back), no redirects (a vendor
 * never redirects an API call to another host; following one could leak the key), and
 * a response-size cap enforced while streaming so an oversized body is abandoned, not
 * buffered.
 */
import type { IncomingHttpHeaders } from 'node:http';
import got, { type RequestError } from 'got';

export interface BoundedGetOptions {
  headers: Record<string, string>;
  connectTimeoutMs: number;
  totalTimeoutMs: number;
  maxBytes: number;
  signal: AbortSignal;
}

export type BoundedGetOutcome =
  | { kind: 'response'; status: number; headers: IncomingHttpHeaders; body: string }
  | { kind: 'failure'; errorKind: 'TIMEOUT' | 'UPSTREAM' | 'TOO_LARGE'; message: string; retryable: boolean };

const USER_AGENT = 'threatwire/0.1 (+https://github.com/threatwire)';

export function boundedGet(url: URL, options: BoundedGetOptions): Promise<BoundedGetOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (outcome: BoundedGetOutcome): void => {
      if (settled) return;
      settled = true;
      if (outcome.kind === 'failure') stream.destroy();
      resolve(outcome);
    };
    const tooLarge = (): void =>
      finish({
        kind: 'failure',
        errorKind: 'TOO_LARGE',
        message: `response larger than ${options.maxBytes} bytes`,
        retryable: false,
      });

    const stream = got.stream(url, {
      headers: { 'user-agent': USER_AGENT, 'accept-encoding': 'identity', ...options.headers },
      timeout: { connect: options.connectTimeoutMs, request: Math.max(1, options.totalTimeoutMs) },
      retry: { limit: 0 },
      followRedirect: false,
      throwHttpErrors: false,
      // Compressed bodies could expand far past the cap before we count them.
      decompress: false,
      signal: options.signal,
    });
    const chunks: Buffer[] = [];
    let received = 0;
    let status = 0;
    let headers: IncomingHttpHeaders = {};
    stream.on('response', (response: { statusCode: number; headers: IncomingHttpHeaders }) => {
      status = response.statusCode;
      headers = response.headers;
      if (Number(headers['content-length'] ?? 0) > options.maxBytes) tooLarge();
    });
    stream.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > options.maxBytes) tooLarge();
      else chunks.push(chunk);
    });
    stream.on('end', () =>
      finish({ kind: 'response', status, headers, body: Buffer.concat(chunks).toString('utf8') }),
    );
    stream.on('error', (error: RequestError) => finish(describeFailure(error, options.signal)));
  });
}

function describeFailure(error: RequestError, signal: AbortSignal): BoundedGetOutcome {
  if (signal.aborted) {
    return {
      kind: 'failure',
      errorKind: 'TIMEOUT',
      message: 'lookup aborted by the caller',
      retryable: false,
    };
  }
  if (error.name === 'TimeoutError') {
    const phase = (error as RequestError & { event?: string }).event ?? 'request';
    // A connect timeout says nothing about the server's health; a request timeout used the whole budget.
    return {
      kind: 'failure',
      errorKind: 'TIMEOUT',
      message: `timed out (${phase})`,
      retryable: phase !== 'request',
    };
  }
  return {
    kind: 'failure',
    errorKind: 'UPSTREAM',
    message: `network error: ${error.code ?? error.message}`,
    retryable: true,
  };
}
