import type { ApiKeyService } from '../auth/api-key-service.js';
import type { Principal } from '../auth/api-key-types.js';
import type { Config } from '../config.js';
import type { CrowdsecService } from '../crowdsec/crowdsec-service.js';
import type { GeoService } from '../geo/geo-service.js';
import type { ExportService } from '../feeds/export-service.js';
import type { FeedService } from '../feeds/feed-service.js';
import type { CurationService } from '../iocs/curation-service.js';
import type { IocService } from '../iocs/ioc-service.js';
import type { EventBus } from '../platform/event-bus.js';
import type { Logger } from '../platform/logger.js';
import type { StatsService } from '../stats/stats-service.js';
import type { ClassifierService } from '../threats/classifier-service.js';
import type { ThreatService } from '../threats/threat-service.js';
import type { HealthService } from '../platform/health-service.js';
import type { WebhookService } from '../webhooks/webhook-service.js';

/** Everything resolvers may call. Domains add their services here. */
export interface Services {
  readonly config: Config;
  readonly apiKeys: ApiKeyService;
  readonly health: HealthService;
  readonly geo: GeoService;
  readonly bus: EventBus;
  readonly iocs: IocService;
  readonly curation: CurationService;
  readonly crowdsec: CrowdsecService;
  readonly stats: StatsService;
  readonly threats: ThreatService;
  readonly classifier: ClassifierService;
  readonly feeds: FeedService;
  readonly exports: ExportService;
  readonly webhooks: WebhookService;
}

export interface GraphQLContext {
  readonly principal: Principal;
  readonly services: Services;
  readonly requestId: string;
  readonly logger: Logger;
  readonly transport: 'http' | 'ws';
}

/**
 * A context whose request logger (a child of `parent` naming the request and the key) is
 * made on first use: most operations log nothing on the way, and a pino child per request
 * adds up. The getter lives on the prototype because Apollo copies the context's own
 * properties into a fresh object per operation (a getter among them would be called by
 * the copy).
 */
export class LazyLoggerContext implements GraphQLContext {
  private made: Logger | undefined;

  constructor(
    readonly principal: Principal,
    readonly services: Services,
    readonly requestId: string,
    readonly transport: 'http' | 'ws',
    private readonly parent: Logger,
  ) {}

  get logger(): Logger {
    return (this.made ??= this.parent.child({ requestId: this.requestId, keyId: this.principal.keyId }));
  }
}
