import { Redis } from 'ioredis';
import type { Logger } from './logger.js';

/** ioredis's message for a command that got no answer within `commandTimeout`. */
const TIMED_OUT = 'Command timed out';

/**
 * A client that drops its connection when a command times out. A frozen server (stopped
 * with SIGSTOP, a dead network path) keeps the TCP connection open and answers nothing,
 * so without this every later command would wait out its own timeout and a request
 * waiting on one (a rate-limit lease, a cache read) would wait with it. Once dropped,
 * commands fail at once (the command client has no offline queue) while ioredis
 * reconnects, and their callers' fallbacks (in-memory rate limits, cache misses, local
 * delivery of events) take over until the server answers again.
 */
class StallAwareRedis extends Redis {
  onStall: () => void = () => undefined;
  /** Commands already watched (ioredis may hand one to sendCommand again after a reconnect). */
  private readonly watched = new WeakSet<object>();

  override sendCommand(...args: Parameters<Redis['sendCommand']>): ReturnType<Redis['sendCommand']> {
    const [command] = args;
    const result = super.sendCommand(...args);
    if (!this.watched.has(command)) {
      this.watched.add(command);
      command.promise.catch((err: unknown) => {
        if (err instanceof Error && err.message === TIMED_OUT && this.status === 'ready') this.onStall();
      });
    }
    return result;
  }
}

export interface RedisConnections {
  /** Commands (cache, rate limits, locks). Fails fast while disconnected instead of queueing. */
  readonly command: Redis;
  /** Dedicated connection in subscriber mode for the event bus. */
  readonly subscriber: Redis;
  ping(): Promise<number>;
  close(): Promise<void>;
}

/** Connects both clients and waits until they are ready, so start-up fails loudly. */
export async function connectRedis(
  url: string,
  logger: Logger,
  opts: { commandTimeoutMs: number },
): Promise<RedisConnections> {
  const log = logger.child({ component: 'redis' });
  const make = (name: string) => {
    const client = new StallAwareRedis(url, {
      connectionName: `threatwire-${name}`,
      lazyConnect: true,
      enableOfflineQueue: name === 'subscriber',
      maxRetriesPerRequest: 1,
      connectTimeout: 5_000,
      commandTimeout: opts.commandTimeoutMs,
      // A command cut off by a dropped connection has failed for its caller already (and
      // may have run: a rate-limit increment sent twice would count twice).
      autoResendUnfulfilledCommands: false,
      retryStrategy: (times) => Math.min(times * 200, 5_000),
    });
    let lastError = '';
    client.onStall = () => {
      log.warn({ client: name, timeoutMs: opts.commandTimeoutMs }, 'redis stopped answering; reconnecting');
      lastError = TIMED_OUT;
      client.disconnect(true);
    };
    client.on('error', (err: Error) => {
      // ioredis emits the same error on every reconnect attempt; log each new one once.
      if (err.message !== lastError) log.warn({ client: name, err: err.message }, 'redis error');
      lastError = err.message;
    });
    client.on('ready', () => {
      if (lastError) log.info({ client: name }, 'redis reconnected');
      lastError = '';
    });
    return client;
  };
  const command = make('command');
  const subscriber = make('subscriber');
  try {
    await Promise.all([command.connect(), subscriber.connect()]);
  } catch (err) {
    command.disconnect();
    subscriber.disconnect();
    const where = new URL(url);
    throw new Error(
      `Cannot connect to Redis at ${where.hostname}:${where.port || 6379}: ${(err as Error).message}`,
    );
  }
  return {
    command,
    subscriber,
    async ping() {
      const started = performance.now();
      await command.ping();
      return performance.now() - started;
    },
    async close() {
      // QUIT waits for an answer; with Redis down it would wait for a reconnect forever.
      const quit = (c: Redis) =>
        c.status === 'ready'
          ? Promise.race([c.quit(), new Promise((r) => setTimeout(r, 1_000))]).finally(() => c.disconnect())
          : Promise.resolve(c.disconnect());
      await Promise.allSettled([quit(command), quit(subscriber)]);
    },
  };
}
