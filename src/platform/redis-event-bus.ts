import type { Redis } from 'ioredis';
import type { EventBus } from './event-bus.js';
import { LocalHub } from './event-bus.js';
import type { Logger } from './logger.js';

/**
 * Event bus over Redis pub/sub: every instance subscribes to the channels its own
 * sockets need (reference-counted through LocalHub) and fans messages out locally.
 */
export class RedisEventBus implements EventBus {
  readonly mode = 'redis' as const;
  private readonly hub: LocalHub;
  private readonly log: Logger;

  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly prefix: string,
    logger: Logger,
    onDrop?: (topic: string) => void,
  ) {
    this.log = logger.child({ component: 'event-bus' });
    this.hub = new LocalHub({
      onFirst: (topic) => {
        this.subscriber.subscribe(this.channel(topic)).catch((err: Error) => {
          this.log.error({ topic, err: err.message }, 'redis subscribe failed');
        });
      },
      onLast: (topic) => {
        this.subscriber.unsubscribe(this.channel(topic)).catch(() => undefined);
      },
      onDrop,
    });
    this.subscriber.on('message', this.onMessage);
  }

  private channel(topic: string): string {
    return `${this.prefix}events:${topic}`;
  }

  private readonly onMessage = (channel: string, message: string): void => {
    const base = `${this.prefix}events:`;
    if (!channel.startsWith(base)) return;
    let payload: unknown;
    try {
      payload = JSON.parse(message);
    } catch {
      this.log.warn({ channel }, 'dropping a malformed event');
      return;
    }
    this.hub.dispatch(channel.slice(base.length), payload);
  };

  async publish(topic: string, payload: unknown): Promise<void> {
    await this.publisher.publish(this.channel(topic), JSON.stringify(payload));
  }

  subscribe<T>(topic: string, filter?: (payload: T) => boolean): AsyncIterableIterator<T> {
    return this.hub.subscribe(topic, filter);
  }

  close(): Promise<void> {
    this.subscriber.off('message', this.onMessage);
    this.hub.closeAll();
    return Promise.resolve();
  }
}
