/**
 * Per-request batching of the fields that would otherwise cost one query per row
 * (`ThreatEvent.ioc`, `Alert.ioc`, `Ioc.sightings`, `Ioc.decisions`, `Alert.decisions`): every load made while a list's
 * rows resolve lands in one service call. Loaders are made on first use per context
 * (an HTTP operation, or a WebSocket subscription) and cache nothing across batches on
 * WebSockets, where a context lives as long as its subscription.
 */
import DataLoader from 'dataloader';
import type { AlertRecord, DecisionRecord } from '../crowdsec/crowdsec-types.js';
import type { IocRecord } from '../iocs/ioc-record.js';
import type { IocSightingsRecord } from '../iocs/ioc-sighting-repository.js';
import type { GraphQLContext } from './context.js';

export interface Loaders {
  /** Stored IOC by canonical value, or null. */
  iocByValue: DataLoader<string, IocRecord | null>;
  sightings: DataLoader<Pick<IocRecord, 'type' | 'value'>, IocSightingsRecord, string>;
  /** Active decisions on an IP IOC's value, newest first (at most IOC_DECISIONS_MAX). */
  iocDecisions: DataLoader<string, DecisionRecord[]>;
  /** The decisions an alert carried, by crowdsec id. */
  alertDecisions: DataLoader<AlertRecord, DecisionRecord[], string>;
}

/** Most active decisions `Ioc.decisions` lists. */
export const IOC_DECISIONS_MAX = 100;

const made = new WeakMap<GraphQLContext, Loaders>();

export function loaders(context: GraphQLContext): Loaders {
  let out = made.get(context);
  if (out === undefined) {
    const { iocs, crowdsec } = context.services;
    const cache = context.transport === 'http';
    out = {
      iocByValue: new DataLoader(
        async (values) => {
          const found = await iocs.getMany(values);
          return values.map((v) => found.get(v) ?? null);
        },
        { cache },
      ),
      sightings: new DataLoader((keys) => iocs.sightings(keys), { cache, cacheKeyFn: (k) => k.value }),
      iocDecisions: new DataLoader((values) => crowdsec.activeDecisionsOn(values, IOC_DECISIONS_MAX), {
        cache,
      }),
      alertDecisions: new DataLoader((alerts) => crowdsec.decisionsOfAlerts(alerts), {
        cache,
        cacheKeyFn: (a) => a.id,
      }),
    };
    made.set(context, out);
  }
  return out;
}
