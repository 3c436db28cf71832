import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LocalHub, topicName, type EventBus, type TopicRef } from './event-bus.js';
import type { Logger } from './logger.js';

/**
 * Event bus over Redis pub/sub: every instance subscribes to the channels its own
 * sockets need (reference-counted through LocalHub) and fans messages out locally.
 *
 * A message is `<publishing instance id> <JSON payload>`. A typed topic's reviver turns
 * the JSON back into its records (dates as `Date`s) once per message, as it arrives. The
 * publisher hands the payload, through the same reviver, to its own subscribers directly
 * and ignores its echo from Redis, so a bulk ingest is not parsed back on the instance
 * that just serialised it.
 * Either way the hub only queues it: subscribers' filters run on later turns of the
 * event loop, in slices, never inside `publish` or the Redis message handler.
 */
export class RedisEventBus implements EventBus {
  readonly mode = 'redis' as const;
  private readonly hub: LocalHub;
  private readonly log: Logger;
  private readonly origin = randomUUID();

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
    const space = message.indexOf(' ');
    if (message.slice(0, space) === this.origin) return; // our own echo: delivered in publish()
    let payload: unknown;
    try {
      if (space < 0) throw new SyntaxError('no origin');
      payload = this.hub.revive(channel.slice(base.length), JSON.parse(message.slice(space + 1)));
    } catch {
      this.log.warn({ channel }, 'dropping a malformed event');
      return;
    }
    this.hub.dispatch(channel.slice(base.length), payload);
  };

  async publish<T>(topic: TopicRef<T>, payload: T): Promise<void> {
    const message = `${this.origin} ${JSON.stringify(payload)}`;
    // Through the same reviver as remote copies (a Date stays a Date, a date string becomes
    // one), without parsing back what was just serialised.
    const name = topicName(topic);
    this.hub.learn(topic);
    if (this.hub.listening(name)) this.hub.dispatch(name, this.hub.revive(name, payload));
    await this.publisher.publish(this.channel(name), message);
  }

  subscribe<T>(topic: TopicRef<T>, filter?: (payload: T) => boolean): AsyncIterableIterator<T> {
    this.hub.learn(topic);
    return this.hub.subscribe(topicName(topic), filter);
  }

  close(): Promise<void> {
    this.subscriber.off('message', this.onMessage);
    this.hub.closeAll();
    return Promise.resolve();
  }
}
