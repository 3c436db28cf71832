/**
 * Which events any active webhook subscribes to, held in memory so that data writers
 * decide without a query whether to add outbox rows. Reloaded when any instance
 * publishes a change on the event bus, and by a periodic refresh in case a message
 * was lost (a Redis reconnect).
 */
import type { EventBus } from '../platform/event-bus.js';
import type { Logger } from '../platform/logger.js';
import type { OutboxEvent } from '../platform/outbox.js';
import type { ActiveEvents } from './webhook-outbox.js';
import { WEBHOOKS_CHANGED } from './webhook-types.js';

export class WebhookCache implements ActiveEvents {
  private events = new Set<OutboxEvent>();
  private follower: AsyncIterableIterator<unknown> | undefined;
  private following: Promise<void> | undefined;

  constructor(
    private readonly load: () => Promise<Set<OutboxEvent>>,
    private readonly bus: EventBus,
    private readonly logger: Logger,
  ) {}

  wants(event: OutboxEvent): boolean {
    return this.events.has(event);
  }

  async refresh(): Promise<void> {
    this.events = await this.load();
  }

  /** Loads the set and follows changes until `stop()`. */
  async start(): Promise<void> {
    this.follower = this.bus.subscribe(WEBHOOKS_CHANGED);
    const follower = this.follower;
    this.following = (async () => {
      for await (const _change of follower) {
        await this.refresh().catch((err: unknown) =>
          this.logger.warn({ err }, 'webhook cache reload failed'),
        );
      }
    })();
    await this.refresh();
  }

  async stop(): Promise<void> {
    await this.follower?.return?.();
    await this.following?.catch(() => undefined);
  }

  /** Tells every instance (this one included) to reload; reloads here at once too. */
  async changed(): Promise<void> {
    await this.refresh();
    await this.bus.publish(WEBHOOKS_CHANGED, { at: Date.now() });
  }
}
