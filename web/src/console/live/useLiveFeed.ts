import { useApolloClient } from '@apollo/client/react';
import { useEffect, useState } from 'react';
import type { Observable } from 'rxjs';
import type { ThreatCategory } from '../gql/graphql';
import { FeedBuffer, type FeedKind } from './feed';
import {
  AlertCreatedDoc,
  DecisionAddedDoc,
  DecisionDeletedDoc,
  IocEnrichedDoc,
  ThreatDetectedDoc,
} from './live-docs';

export interface LiveFilters {
  kinds: FeedKind[];
  minSeverity?: number;
  category?: ThreatCategory;
  country?: string;
}

type Source<T> = Observable<{ data?: T | null; error?: unknown }>;

/**
 * Opens one subscription per selected kind (server-side filters where the API has
 * them) and feeds a FeedBuffer. Results bypass the normalised cache: at 1,000 events/s
 * cache writes would cost more than the rendering.
 */
export function useLiveFeed(filters: LiveFilters) {
  const client = useApolloClient();
  const [buffer] = useState(() => new FeedBuffer());
  const [errors, setErrors] = useState<Partial<Record<FeedKind, unknown>>>({});
  const { minSeverity, category, country } = filters;
  const kinds = filters.kinds.join(',');

  useEffect(() => () => buffer.dispose(), [buffer]);

  useEffect(() => {
    setErrors({});
    const subs: { unsubscribe(): void }[] = [];
    const selected = new Set(kinds.split(','));
    function watch<T>(kind: FeedKind, source: Source<T>, onData: (data: T) => void): void {
      if (!selected.has(kind)) return;
      const fail = (error: unknown) => setErrors((e) => ({ ...e, [kind]: error }));
      subs.push(
        source.subscribe({
          next: (result) => {
            if (result.error) fail(result.error);
            if (result.data) onData(result.data);
          },
          error: fail,
        }),
      );
    }
    const noCache = { fetchPolicy: 'no-cache' as const };
    const decisionFilter = country ? { countryCode: country } : null;
    const now = Date.now;

    const threatVars = {
      minSeverity: minSeverity ?? null,
      categories: category ? [category] : null,
      countries: country ? [country] : null,
    };
    watch(
      'threat',
      client.subscribe({ query: ThreatDetectedDoc, variables: threatVars, ...noCache }),
      (d) => {
        const t = d.threatDetected;
        buffer.push({
          kind: 'threat',
          at: now(),
          title: `${t.threatType} from ${t.sourceIp}`,
          detail: [t.classification.category, t.geo?.countryName, t.sensor].filter(Boolean).join(' · '),
          severity: t.severity,
          country: t.geo?.countryCode,
        });
      },
    );
    watch(
      'decision',
      client.subscribe({ query: DecisionAddedDoc, variables: { filter: decisionFilter }, ...noCache }),
      (d) => {
        const x = d.decisionAdded;
        buffer.push({
          kind: 'decision',
          at: now(),
          title: `${x.type} ${x.scope} ${x.value}`,
          detail: `${x.scenario} · ${x.origin}`,
          country: x.geo?.countryCode,
        });
      },
    );
    watch(
      'unban',
      client.subscribe({ query: DecisionDeletedDoc, variables: { filter: decisionFilter }, ...noCache }),
      (d) => {
        const x = d.decisionDeleted;
        buffer.push({
          kind: 'unban',
          at: now(),
          title: `${x.type} lifted on ${x.value}`,
          detail: x.scenario,
          country: x.geo?.countryCode,
        });
      },
    );
    watch('alert', client.subscribe({ query: AlertCreatedDoc, ...noCache }), (d) => {
      const x = d.alertCreated;
      if (country && x.geo?.countryCode !== country) return;
      buffer.push({
        kind: 'alert',
        at: now(),
        title: `${x.scenario} by ${x.sourceValue}`,
        detail: `${x.eventsCount} events`,
        country: x.geo?.countryCode,
      });
    });
    watch('ioc', client.subscribe({ query: IocEnrichedDoc, ...noCache }), (d) => {
      const x = d.iocEnriched;
      if (category && !x.categories.includes(category)) return;
      buffer.push({
        kind: 'ioc',
        at: now(),
        title: `${x.type} ${x.value}`,
        detail: `${x.riskLevel ?? 'no verdict yet'} ${x.riskScore ?? ''} ${x.categories.join(', ')}`.trim(),
      });
    });
    return () => subs.forEach((s) => s.unsubscribe());
  }, [client, buffer, kinds, minSeverity, category, country]);

  return { buffer, errors };
}
