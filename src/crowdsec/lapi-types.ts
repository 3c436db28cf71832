/**
 * Wire shapes of the CrowdSec Local API, validated at the boundary with zod so that a
 * version difference shows up as one clear error instead of `undefined` deep inside a
 * worker. Written against a real LAPI 1.4.6 (Debian 12) and kept lenient for 1.5–1.7:
 * fields those versions add (`uuid`, alert `meta`) are optional, and lists that 1.4
 * sends as `null` when empty are normalised to `[]`.
 */
import { z } from 'zod';
import { AppError, type ErrorCode } from '../platform/errors.js';
import { parseGoDuration } from './go-duration.js';

/** `null` (LAPI 1.4 for an empty list) or a missing field both become `[]`. */
const list = <T extends z.ZodType>(item: T) =>
  z
    .array(item)
    .nullish()
    .transform((v): z.output<T>[] => v ?? []);

export const decisionSchema = z.object({
  id: z.number().int(),
  uuid: z.string().optional(), // 1.5+
  origin: z.string(),
  type: z.string(),
  scope: z.string(),
  value: z.string(),
  /** Remaining time as a Go duration, negative once expired or deleted. */
  duration: z.string(),
  scenario: z.string(),
  simulated: z.boolean().optional(),
});
export type Decision = z.output<typeof decisionSchema>;

export const decisionsStreamSchema = z.object({ new: list(decisionSchema), deleted: list(decisionSchema) });
export type DecisionsStream = z.output<typeof decisionsStreamSchema>;

const metaSchema = z.object({ key: z.string(), value: z.string() });

export const alertSourceSchema = z.object({
  scope: z.string(),
  value: z.string(),
  ip: z.string().optional(),
  range: z.string().optional(),
  as_number: z.string().optional(), // a string, even though it is a number
  as_name: z.string().optional(),
  cn: z.string().optional(),
  latitude: z.number().optional(),
  longitude: z.number().optional(),
});

export const alertSchema = z.object({
  id: z.number().int(),
  uuid: z.string().optional(), // 1.5+
  machine_id: z.string().optional(),
  created_at: z.string(),
  scenario: z.string(),
  scenario_version: z.string().nullish(),
  scenario_hash: z.string().nullish(),
  message: z.string(),
  events_count: z.number().int(),
  capacity: z.number().int().optional(),
  leakspeed: z.string().optional(),
  /** Go's `time.String()` layout in 1.4 (`2026-01-02 15:04:05 +0000 UTC`): use parseLapiTime. */
  start_at: z.string(),
  stop_at: z.string(),
  simulated: z.boolean(),
  remediation: z.boolean().optional(),
  labels: list(z.string()),
  meta: list(metaSchema),
  source: alertSourceSchema,
  decisions: list(decisionSchema),
  events: list(z.object({ timestamp: z.string(), meta: list(metaSchema) })),
});
export type Alert = z.output<typeof alertSchema>;
export const alertsSchema = list(alertSchema);

export const loginSchema = z.object({
  code: z.number().optional(),
  expire: z.string(),
  token: z.string().min(1),
});

/** `POST /v1/alerts` answers with the new alert ids, as strings in 1.4. */
export const postAlertsSchema = list(z.union([z.string(), z.number()])).transform((ids) => ids.map(String));

/** `DELETE /v1/decisions/{id}` answers `{"nbDeleted":"1"}` — a string count. */
export const deleteDecisionSchema = z
  .object({ nbDeleted: z.union([z.string(), z.number()]) })
  .transform((r, ctx) => {
    const n = Number(r.nbDeleted);
    if (!Number.isInteger(n) || n < 0) {
      ctx.addIssue({ code: 'custom', message: `nbDeleted is not a count: ${String(r.nbDeleted)}` });
      return z.NEVER;
    }
    return n;
  });

/** What a watcher posts; mirrors the LAPI's `models.Alert` as far as we fill it in. */
export interface NewDecision {
  duration: string;
  origin: string;
  scenario: string;
  scope: string;
  type: string;
  value: string;
  until?: string;
}
export interface NewAlert {
  scenario: string;
  scenario_hash: string;
  scenario_version: string;
  message: string;
  events_count: number;
  events: { timestamp: string; meta: { key: string; value: string }[] }[];
  capacity: number;
  leakspeed: string;
  simulated: boolean;
  start_at: string;
  stop_at: string;
  created_at?: string;
  remediation?: boolean;
  labels?: string[];
  source: z.input<typeof alertSourceSchema>;
  decisions?: NewDecision[];
}

/**
 * Filters of `GET /v1/alerts` as 1.4.6 accepts them; any other parameter is an error.
 * In 1.4 `ip`, `range`, `scenario`, `origin`, `decisionType`, `hasActiveDecision` and
 * `includeCapi: false` match the alert's *decisions*, so they never return an alert
 * without decisions; `scope`/`value` match the alert's source.
 */
export interface AlertsQuery {
  /** Go duration: alerts whose *start_at* (not created_at) is within this window. */
  since?: string;
  /** Go duration: alerts whose start_at is older than this. */
  until?: string;
  /** LAPI default is 100; 0 means no limit. */
  limit?: number;
  scope?: string;
  value?: string;
  scenario?: string;
  ip?: string;
  range?: string;
  origin?: string;
  decisionType?: string;
  hasActiveDecision?: boolean;
  includeCapi?: boolean;
  /** true also returns simulated alerts (left out by default). */
  simulated?: boolean;
}

const ALERT_FILTER_NAMES: Readonly<Record<keyof AlertsQuery, string>> = {
  since: 'since',
  until: 'until',
  limit: 'limit',
  scope: 'scope',
  value: 'value',
  scenario: 'scenario',
  ip: 'ip',
  range: 'range',
  origin: 'origin',
  decisionType: 'decision_type',
  hasActiveDecision: 'has_active_decision',
  includeCapi: 'include_capi',
  simulated: 'simulated',
};

/** Query string for `GET /v1/alerts`; a bad duration fails here rather than as a LAPI 500. */
export function alertsSearchParams(query: AlertsQuery): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [key, name] of Object.entries(ALERT_FILTER_NAMES) as [keyof AlertsQuery, string][]) {
    const value = query[key];
    if (value === undefined) continue;
    if ((key === 'since' || key === 'until') && typeof value === 'string') {
      try {
        parseGoDuration(value);
      } catch (err) {
        throw new LapiError(
          'BAD_REQUEST',
          `alerts(${key}): ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
    params[name] = String(value);
  }
  return params;
}

const GO_TIME = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(\.\d+)? ([+-]\d{2})(\d{2})(?: \S+)?$/;

/**
 * Parses the LAPI's timestamps: RFC 3339 (`created_at`, and everything in 1.5+) or
 * Go's `time.String()` layout that 1.4 uses for `start_at`, `stop_at` and event
 * timestamps. Returns undefined rather than an Invalid Date.
 */
export function parseLapiTime(text: string): Date | undefined {
  const go = GO_TIME.exec(text);
  const iso = go ? `${go[1]}T${go[2]}${(go[3] ?? '').slice(0, 4)}${go[4]}:${go[5]}` : text;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

export type LapiErrorKind =
  | 'NOT_CONFIGURED' // no bouncer key / machine credentials were handed in
  | 'UNREACHABLE'
  | 'TIMEOUT'
  | 'UNAUTHORIZED'
  | 'BAD_REQUEST'
  | 'NOT_FOUND'
  | 'RATE_LIMITED' // 429: the LAPI asked us to slow down
  | 'SERVER_ERROR'
  | 'BAD_RESPONSE' // 2xx whose body is not what the LAPI documents
  | 'RESPONSE_TOO_LARGE';

export class LapiError extends Error {
  constructor(
    readonly kind: LapiErrorKind,
    message: string,
    readonly details: {
      status?: number;
      lapiMessage?: string;
      method?: string;
      path?: string;
      /** The answer's Retry-After, in milliseconds. */
      retryAfterMs?: number;
    } = {},
  ) {
    super(message);
    this.name = 'LapiError';
  }

  get status(): number | undefined {
    return this.details.status;
  }

  get lapiMessage(): string | undefined {
    return this.details.lapiMessage;
  }

  /** The domain error, with a stable code. Our own credentials failing is the upstream's problem to the API user. */
  toAppError(): AppError {
    const code: ErrorCode =
      this.kind === 'BAD_REQUEST'
        ? 'BAD_USER_INPUT'
        : this.kind === 'NOT_FOUND'
          ? 'NOT_FOUND'
          : 'UPSTREAM_UNAVAILABLE';
    return new AppError(code, `CrowdSec LAPI: ${this.message}`, { lapiKind: this.kind, status: this.status });
  }
}

/** Scope spellings the LAPI and bouncers compare case-sensitively, as cscli normalises them. */
const SCOPES: Readonly<Record<string, string>> = { ip: 'Ip', range: 'Range', country: 'Country', as: 'AS' };

export interface ManualBan {
  value: string;
  /** Go duration, positive (`4h`, `90m`). LAPI 1.4 refuses days (`1d`) in a decision. */
  duration: string;
  /** Becomes the alert's scenario and message, as with `cscli decisions add --reason`. */
  reason: string;
  scope?: string;
  type?: string;
  /** `cscli` marks a manual decision; bouncers and the console treat it as such. */
  origin?: string;
  now?: Date;
}

/**
 * The alert that `cscli decisions add` posts for a manual decision: no events but an
 * events_count of 1, an empty bucket (capacity 0, leakspeed "0"), and exactly one
 * decision. The LAPI does not run profiles on an alert that already carries
 * decisions, so `remediation` stays unset.
 */
export function manualBanAlert(ban: ManualBan): NewAlert {
  const ms = parseGoDuration(ban.duration);
  if (!(ms > 0)) throw new RangeError(`ban duration must be positive, got ${JSON.stringify(ban.duration)}`);
  const value = ban.value.trim();
  const reason = ban.reason.trim();
  if (!value) throw new RangeError('ban value is empty');
  if (!reason) throw new RangeError('ban reason is empty');
  const rawScope = ban.scope ?? 'Ip';
  const scope = SCOPES[rawScope.toLowerCase()] ?? rawScope;
  const at = (ban.now ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    scenario: reason,
    scenario_hash: '',
    scenario_version: '',
    message: reason,
    events_count: 1,
    events: [],
    capacity: 0,
    leakspeed: '0',
    simulated: false,
    start_at: at,
    stop_at: at,
    created_at: at,
    source: {
      scope,
      value,
      ...(scope === 'Ip' ? { ip: value } : {}),
      ...(scope === 'Range' ? { range: value } : {}),
    },
    decisions: [
      {
        duration: ban.duration,
        origin: ban.origin ?? 'cscli',
        scenario: reason,
        scope,
        type: ban.type ?? 'ban',
        value,
      },
    ],
  };
}
