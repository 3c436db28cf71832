/**
 * Webhooks as the API sees them: validated create/update/delete, pause and resume,
 * a signed test request, and the delivery history. Every change reloads the active
 * webhook cache on all instances (event bus), so writers start or stop adding outbox
 * rows at once.
 */
import { checkCountryCode, checkInt, checkListLength, checkText } from '../platform/argument-checks.js';
import { badInput, notFound } from '../platform/errors.js';
import type { Cursor } from '../platform/page.js';
import { THREAT_CATEGORIES } from '../platform/threat-category.js';
import type { DeliveryRepository } from './delivery-repository.js';
import type { WebhookCache } from './webhook-cache.js';
import type { WebhookRepository } from './webhook-repository.js';
import type { PostResult, WebhookSender } from './webhook-sender.js';
import { checkTargetAddress, checkTargetUrl, type Cidr } from './webhook-target.js';
import {
  WEBHOOK_EVENTS,
  type DeliveryPage,
  type RiskLevel,
  type WebhookEvent,
  type WebhookFilterRecord,
  type WebhookFormat,
  type WebhookInput,
  type WebhookRecord,
} from './webhook-types.js';

/** Bounds of the arguments (docs/operations.md, "Bounds"). */
export const WEBHOOK_LIMITS = {
  urlLength: 2048,
  secretMin: 16,
  secretMax: 256,
  descriptionLength: 500,
  countries: 250,
  scenarios: 100,
  scenarioLength: 200,
} as const;

export interface WebhookArgs {
  url?: string | null;
  secret?: string | null;
  events?: readonly WebhookEvent[] | null;
  filter?: {
    minSeverity?: number | null;
    categories?: readonly string[] | null;
    countries?: readonly string[] | null;
    scenarios?: readonly string[] | null;
    minRiskLevel?: RiskLevel | null;
  } | null;
  format?: WebhookFormat | null;
  description?: string | null;
}

export interface WebhookServiceDeps {
  webhooks: WebhookRepository;
  deliveries: DeliveryRepository;
  cache: WebhookCache;
  sender: WebhookSender;
  maxWebhooks: number;
  allowPrivate: readonly Cidr[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class WebhookService {
  constructor(private readonly deps: WebhookServiceDeps) {}

  list(): Promise<WebhookRecord[]> {
    return this.deps.webhooks.list();
  }

  async get(id: string): Promise<WebhookRecord | null> {
    return UUID.test(id) ? this.deps.webhooks.get(id) : null;
  }

  async create(args: WebhookArgs): Promise<WebhookRecord> {
    const input = await this.validate(args, null);
    if ((await this.deps.webhooks.count()) >= this.deps.maxWebhooks)
      throw badInput(`at most ${this.deps.maxWebhooks} webhooks may exist (WEBHOOK_MAX)`, {
        argument: 'url',
        limit: this.deps.maxWebhooks,
      });
    const created = await this.deps.webhooks.create(input);
    await this.deps.cache.changed();
    return created;
  }

  async update(id: string, args: WebhookArgs): Promise<WebhookRecord> {
    const current = await this.mustGet(id);
    const secret = args.secret ?? (await this.deps.webhooks.secretOf(id));
    const input = await this.validate({ ...args, secret }, current);
    const updated = await this.deps.webhooks.update(id, input);
    if (!updated) throw notFound(`no webhook ${id}`);
    await this.deps.cache.changed();
    return updated;
  }

  async delete(id: string): Promise<boolean> {
    const deleted = UUID.test(id) && (await this.deps.webhooks.delete(id));
    if (deleted) await this.deps.cache.changed();
    return deleted;
  }

  /** Pausing keeps waiting events; resuming delivers them and restarts the retry window. */
  async setPaused(id: string, paused: boolean): Promise<WebhookRecord> {
    await this.mustGet(id);
    const updated = await this.deps.webhooks.setPaused(id, paused ? 'paused by an administrator' : null);
    if (!updated) throw notFound(`no webhook ${id}`);
    await this.deps.cache.changed();
    return updated;
  }

  async test(id: string): Promise<PostResult> {
    const w = await this.mustGet(id);
    const secret = await this.deps.webhooks.secretOf(id);
    if (secret === null) throw notFound(`no webhook ${id}`);
    return this.deps.sender.test(w.url, secret, w.id, w.format);
  }

  async deliveries(webhookId: string, first: number, after: Cursor | undefined): Promise<DeliveryPage> {
    await this.mustGet(webhookId);
    return this.deps.webhooks.deliveries(webhookId, first, after);
  }

  private async mustGet(id: string): Promise<WebhookRecord> {
    const w = await this.get(id);
    if (!w) throw notFound(`no webhook ${id}`);
    return w;
  }

  private async validate(args: WebhookArgs, current: WebhookRecord | null): Promise<WebhookInput> {
    const rawUrl = checkText('url', args.url, WEBHOOK_LIMITS.urlLength) ?? current?.url;
    if (rawUrl === undefined) throw badInput('url is required', { argument: 'url' });
    const url = checkTargetUrl('url', rawUrl);
    await checkTargetAddress('url', url, this.deps.allowPrivate);
    const secret = checkText('secret', args.secret, WEBHOOK_LIMITS.secretMax);
    if (secret === undefined || secret.length < WEBHOOK_LIMITS.secretMin)
      throw badInput(`secret must be at least ${WEBHOOK_LIMITS.secretMin} characters`, {
        argument: 'secret',
        min: WEBHOOK_LIMITS.secretMin,
        limit: WEBHOOK_LIMITS.secretMax,
      });
    const events = args.events ? [...new Set(args.events)] : current?.events;
    checkListLength('events', args.events ?? [], WEBHOOK_EVENTS.length);
    if (!events || events.length === 0)
      throw badInput('events must name at least one event', { argument: 'events' });
    const description =
      args.description === undefined
        ? (current?.description ?? null)
        : (checkText('description', args.description, WEBHOOK_LIMITS.descriptionLength) ?? null);
    return {
      url: url.toString(),
      secret,
      events,
      filter:
        args.filter === undefined || args.filter === null
          ? (current?.filter ?? emptyFilter())
          : checkFilter(args.filter),
      format: args.format ?? current?.format ?? 'THREATWIRE',
      description,
    };
  }
}

const emptyFilter = (): WebhookFilterRecord => ({
  minSeverity: null,
  categories: [],
  countries: [],
  scenarios: [],
  minRiskLevel: null,
});

function checkFilter(f: NonNullable<WebhookArgs['filter']>): WebhookFilterRecord {
  const categories = f.categories ?? [];
  checkListLength('filter.categories', categories, THREAT_CATEGORIES.length);
  for (const c of categories)
    if (!(THREAT_CATEGORIES as readonly string[]).includes(c))
      throw badInput(`filter.categories: unknown category ${c}`, { argument: 'filter.categories' });
  const countries = f.countries ?? [];
  checkListLength('filter.countries', countries, WEBHOOK_LIMITS.countries);
  const scenarios = f.scenarios ?? [];
  checkListLength('filter.scenarios', scenarios, WEBHOOK_LIMITS.scenarios);
  return {
    minSeverity: checkInt('filter.minSeverity', f.minSeverity, 1, 10, undefined) ?? null,
    categories: [...new Set(categories)],
    countries: [...new Set(countries.map((c) => checkCountryCode('filter.countries', c)!.toUpperCase()))],
    scenarios: [
      ...new Set(scenarios.map((s) => checkText('filter.scenarios', s, WEBHOOK_LIMITS.scenarioLength)!)),
    ],
    minRiskLevel: f.minRiskLevel ?? null,
  };
}
