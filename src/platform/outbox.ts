/**
 * The hook through which data writers add webhook outbox rows in the same statement as
 * the data that caused them, so an event is either stored with its outbox rows or not
 * at all (docs/architecture.md, "Webhooks"). The writer describes its rows (a CTE or
 * table alias, the JSON payload and the columns filters look at); the webhooks module,
 * which owns the outbox, returns the SQL that inserts the rows for every active webhook
 * whose filter matches, or nothing when no active webhook wants the event, so the
 * writer's statement stays as it was. Events are delivered in the order the writer's
 * statement returned its rows.
 */

export type OutboxEvent =
  'THREAT_DETECTED' | 'DECISION_ADDED' | 'DECISION_DELETED' | 'ALERT_CREATED' | 'IOC_ENRICHED';

export interface OutboxSource {
  /** The relation (CTE name) holding the rows just written. */
  readonly from: string;
  /** A jsonb expression over `from`: the event's data. */
  readonly payload: string;
  /** A boolean expression over `from` that selects the rows that are events (default: all). */
  readonly where?: string;
  /** Expressions over `from` that webhook filters compare with. */
  readonly severity?: string;
  readonly category?: string;
  readonly country?: string;
  readonly scenario?: string;
  readonly riskLevel?: string;
}

export interface Outbox {
  /**
   * A data-modifying CTE (starting with a comma, to follow the writer's own CTE) that
   * inserts the outbox rows, or '' when no active webhook subscribes to `event`.
   */
  cte(event: OutboxEvent, source: OutboxSource): string;
}

/** The outbox of an instance without webhooks (and of tests that build a module alone). */
export const NO_OUTBOX: Outbox = { cte: () => '' };
