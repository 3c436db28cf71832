import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/platform/errors.js';
import { DEPENDENCY_RETRY_AFTER_S, classifyFailure } from '../../src/platform/failure-classifier.js';

const STORAGE = {
  code: 'UPSTREAM_UNAVAILABLE',
  message: 'A storage dependency (PostgreSQL or Redis) is unavailable; retry later',
  details: { retryAfterSeconds: 5, dependency: 'storage' },
};
const TIMEOUT = {
  code: 'UPSTREAM_UNAVAILABLE',
  message:
    'A database query took longer than the configured statement timeout; narrow the request or retry later',
  details: { retryAfterSeconds: 5, dependency: 'storage' },
};
const badData = (detail: string) => ({
  code: 'BAD_USER_INPUT',
  message: `The database refused a value in this request: ${detail}`,
  details: {},
});

/** classifyFailure's answer as plain data (undefined when it leaves the error alone). */
function classify(err: unknown) {
  const e = classifyFailure(err);
  if (e === undefined) return undefined;
  expect(e).toBeInstanceOf(AppError);
  return { code: e.code, message: e.message, details: e.details };
}
const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('classifyFailure', () => {
  it('asks clients to retry after 5 s', () => {
    expect(DEPENDENCY_RETRY_AFTER_S).toBe(5);
  });

  it.each([
    'ECONNREFUSED',
    'ECONNRESET',
    'ETIMEDOUT',
    'EPIPE',
    'EHOSTUNREACH',
    'ENETUNREACH',
    'ENOTFOUND',
    'EAI_AGAIN',
    'P1001',
    'P1002',
    'P1008',
    'P1017',
    'P2024',
  ])('socket or Prisma code %s → storage unavailable', (code) => {
    expect(classify(withCode(code))).toEqual(STORAGE);
  });

  it.each([
    '08000',
    '08006',
    '08P01',
    '57P01',
    '57P02',
    '57P03',
    '57P04',
    '53000',
    '53300',
    '40001',
    '40P01',
  ])('SQLSTATE %s → storage unavailable (as code and as originalCode)', (state) => {
    expect(classify(withCode(state))).toEqual(STORAGE);
    expect(classify({ originalCode: state, message: 'x' })).toEqual(STORAGE);
  });

  it('SQLSTATE 57014 (statement timeout) → its own message', () => {
    expect(classify(withCode('57014'))).toEqual(TIMEOUT);
    expect(classify({ originalCode: '57014' })).toEqual(TIMEOUT);
  });

  it.each([
    '57P00',
    '57P05',
    '57015',
    '57000',
    '40000',
    '40002',
    '40P02',
    '23505',
    '42P01',
    '0800',
    '080006',
  ])('SQLSTATE %s is not an outage (left alone)', (state) => {
    expect(classify(withCode(state))).toBeUndefined();
  });

  it.each(['22001', '22P02', '22003', '22008', '54001'])(
    'SQLSTATE %s → BAD_USER_INPUT with the driver message',
    (state) => {
      expect(classify(withCode(state, 'value too long for type character varying(10)'))).toEqual(
        badData('value too long for type character varying(10)'),
      );
      expect(classify({ originalCode: state, message: 'bad' })).toEqual(badData('bad'));
    },
  );

  it.each(['54000', '23502', '2200', '220011'])('SQLSTATE %s is not bad data', (state) => {
    expect(classify(withCode(state))).toBeUndefined();
  });

  it('codes must be five digits or capitals to count as SQLSTATEs', () => {
    expect(classify(withCode('08oo6'))).toBeUndefined();
    expect(classify(withCode('22p02'))).toBeUndefined();
    expect(classify({ code: 8006 })).toBeUndefined();
    // Numbers that would look like SQLSTATEs as text are not codes.
    expect(classify({ code: 57014 })).toBeUndefined();
    expect(classify({ originalCode: 40001 })).toBeUndefined();
    expect(classify({ code: 22001, message: 'x' })).toBeUndefined();
  });

  it.each([
    'DatabaseNotReachable',
    'ConnectionClosed',
    'SocketTimeout',
    'TooManyConnections',
    'TransactionWriteConflict',
  ])('driver-adapter kind %s → storage unavailable', (kind) => {
    expect(classify({ kind })).toEqual(STORAGE);
  });

  it('other adapter kinds, names and messages are left alone', () => {
    expect(classify({ kind: 'UniqueConstraintViolation' })).toBeUndefined();
    expect(classify({ kind: 1 })).toBeUndefined();
    expect(classify({ name: 'TypeError', message: 'x is undefined' })).toBeUndefined();
    expect(classify(new Error('Unique constraint failed'))).toBeUndefined();
  });

  it('ioredis MaxRetriesPerRequestError by name', () => {
    expect(classify({ name: 'MaxRetriesPerRequestError', message: 'x' })).toEqual(STORAGE);
  });

  it.each([
    'Connection terminated unexpectedly',
    'timeout exceeded when trying to connect',
    'Query read timeout',
    'Client has encountered a connection error and is not queryable',
    'Connection is closed.',
    "Stream isn't writeable and enableOfflineQueue options is false",
    'Reached the max retries per request limit (which is 20).',
    'FATAL: the database system is starting up',
    'the database system is shutting down',
    'the database system is in recovery mode',
    "Can't reach database server at 127.0.0.1:5432",
    'CONNECTION TERMINATED', // any case
  ])('message %j → storage unavailable', (message) => {
    expect(classify(new Error(message))).toEqual(STORAGE);
  });

  it('the database system in another state is not an outage', () => {
    expect(classify(new Error('the database system is ready'))).toBeUndefined();
  });

  it.each(['cause', 'originalError', 'meta', 'driverAdapterError', 'error'])(
    'finds a code wrapped under %s',
    (key) => {
      expect(classify({ message: 'wrapper', [key]: withCode('ECONNREFUSED') })).toEqual(STORAGE);
      expect(classify({ message: 'wrapper', [key]: { [key]: withCode('22P02', 'deep') } })).toEqual(
        badData('deep'),
      );
    },
  );

  it('ignores other keys', () => {
    expect(classify({ message: 'wrapper', inner: withCode('ECONNREFUSED') })).toBeUndefined();
  });

  it('leaves non-objects alone', () => {
    expect(classify(null)).toBeUndefined();
    expect(classify(undefined)).toBeUndefined();
    expect(classify('ECONNREFUSED')).toBeUndefined();
    expect(classify({ cause: 'ECONNREFUSED' })).toBeUndefined();
  });

  it('walks at most 20 objects: a code 20 deep is found, 21 deep is not', () => {
    const chain = (depth: number) => {
      let e: object = withCode('ECONNRESET');
      for (let i = 1; i < depth; i++) e = { message: `level ${i}`, cause: e };
      return e;
    };
    expect(classify(chain(20))).toEqual(STORAGE);
    expect(classify(chain(21))).toBeUndefined();
  });

  it('stops on a cycle', () => {
    const a: Record<string, unknown> = { message: 'a' };
    const b: Record<string, unknown> = { message: 'b', cause: a };
    a.cause = b;
    expect(classify(a)).toBeUndefined();
    a.error = withCode('22P02', 'after the cycle');
    expect(classify(a)).toEqual(badData('after the cycle'));
  });

  it('an outage anywhere in the chain wins over bad data found first', () => {
    expect(classify({ ...withCode('22P02', 'bad'), cause: withCode('ECONNRESET') })).toEqual(STORAGE);
  });

  it('reports the outermost bad-data message', () => {
    expect(
      classify(Object.assign(withCode('22001', 'outer'), { cause: withCode('22P02', 'inner') })),
    ).toEqual(badData('outer'));
  });

  it('keeps the first line of the message, at most 200 characters', () => {
    expect(classify(withCode('22P02', 'first line\nsecond line'))).toEqual(badData('first line'));
    expect(classify(withCode('22P02', 'y'.repeat(200)))).toEqual(badData('y'.repeat(200)));
    expect(classify(withCode('22P02', `${'y'.repeat(200)}z`))).toEqual(badData(`${'y'.repeat(200)}…`));
    expect(classify({ code: '22P02' })).toEqual(badData(''));
  });
});
