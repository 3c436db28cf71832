import { Redis } from 'ioredis';
import type { Logger } from './logger.js';

export interface RedisConnections {
  /** Commands (cache, rate limits, locks). Fails fast while disconnected instead of queueing. */
  readonly command: Redis;
  /** Dedicated connection in subscriber mode for the event bus. */
  readonly subscriber: Redis;
  ping(): Promise<number>;
  close(): Promise<void>;
}

/** Connects both clients and waits until they are ready, so start-up fails loudly. */
export async function connectRedis(url: string, logger: Logger): Promise<RedisConnections> {
  const log = logger.child({ component: 'redis' });
  const make = (name: string) => {
    const client = new Redis(url, {
      connectionName: `threatwire-${name}`,
      lazyConnect: true,
      enableOfflineQueue: name === 'subscriber',
      maxRetriesPerRequest: 1,
      connectTimeout: 5_000,
      retryStrategy: (times) => Math.min(times * 200, 5_000),
    });
    let lastError = '';
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
