import { useApolloClient } from '@apollo/client/react';
import { useContext, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import type { Observable } from 'rxjs';
import { ConnectionContext, type SocketState } from '../connection';
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

const noSocket: SocketState = { status: 'idle', drops: 0 };
const never = () => () => undefined;
const isTooOld = (error: unknown) => String((error as { message?: unknown })?.message).includes('too old');

/**
 * Opens one subscription per selected kind (server-side filters where the API has
 * them) and feeds a FeedBuffer. Results bypass the normalised cache: at 1,000 events/s
 * cache writes would cost more than the rendering.
 *
 * After the socket drops and comes back, each subscription is opened again with the
 * cursor of the last event it showed (`after`), so the server replays the gap; what
 * the old subscriptions deliver after the drop is ignored (the replay has it). A
 * changed filter starts afresh, without replay.
 */
export function useLiveFeed(filters: LiveFilters) {
  const client = useApolloClient();
  const [buffer] = useState(() => new FeedBuffer());
  const [errors, setErrors] = useState<Partial<Record<FeedKind, unknown>>>({});
  const { minSeverity, category, country } = filters;
  const kinds = filters.kinds.join(',');
  const connection = useContext(ConnectionContext);
  const socket = useSyncExternalStore(
    connection?.subscribeState ?? never,
    connection?.state ?? (() => noSocket),
  );
  const reconnected = socket.reconnectedAt?.getTime() ?? 0;
  /** The cursor of the last event shown, per kind; and the filters they belong to. */
  const cursors = useRef<Partial<Record<FeedKind, string>>>({});
  const cursorsFor = useRef('');
  const [retry, setRetry] = useState(0);

  useEffect(() => () => buffer.dispose(), [buffer]);

  useEffect(() => {
    setErrors({});
    const filterKey = JSON.stringify([kinds, minSeverity, category, country]);
    if (cursorsFor.current !== filterKey) cursors.current = {};
    cursorsFor.current = filterKey;
    const drops = connection?.state().drops ?? 0;
    const subs: { unsubscribe(): void }[] = [];
    const selected = new Set(kinds.split(','));
    function watch<T>(
      kind: FeedKind,
      subscribe: (after: string | null) => Source<T>,
      cursorOf: (data: T) => string,
      onData: (data: T) => void,
    ): void {
      if (!selected.has(kind)) return;
      const fail = (error: unknown) => {
        if (isTooOld(error) && cursors.current[kind] !== undefined) {
          // Away longer than the server replays: go on live only.
          delete cursors.current[kind];
          setRetry((n) => n + 1);
          return;
        }
        setErrors((e) => ({ ...e, [kind]: error }));
      };
      subs.push(
        subscribe(cursors.current[kind] ?? null).subscribe({
          next: (result) => {
            // Dropped since: the subscription opened after the reconnect replays this.
            if ((connection?.state().drops ?? 0) !== drops) return;
            if (result.error) fail(result.error);
            if (result.data) {
              cursors.current[kind] = cursorOf(result.data);
              onData(result.data);
            }
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
      (after) =>
        client.subscribe({ query: ThreatDetectedDoc, variables: { ...threatVars, after }, ...noCache }),
      (d) => d.threatDetected.cursor,
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
      (after) =>
        client.subscribe({
          query: DecisionAddedDoc,
          variables: { filter: decisionFilter, after },
          ...noCache,
        }),
      (d) => d.decisionAdded.cursor,
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
      (after) =>
        client.subscribe({
          query: DecisionDeletedDoc,
          variables: { filter: decisionFilter, after },
          ...noCache,
        }),
      (d) => d.decisionDeleted.cursor,
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
    watch(
      'alert',
      (after) => client.subscribe({ query: AlertCreatedDoc, variables: { after }, ...noCache }),
      (d) => d.alertCreated.cursor,
      (d) => {
        const x = d.alertCreated;
        if (country && x.geo?.countryCode !== country) return;
        buffer.push({
          kind: 'alert',
          at: now(),
          title: `${x.scenario} by ${x.sourceValue}`,
          detail: `${x.eventsCount} events`,
          country: x.geo?.countryCode,
        });
      },
    );
    watch(
      'ioc',
      (after) => client.subscribe({ query: IocEnrichedDoc, variables: { after }, ...noCache }),
      (d) => d.iocEnriched.cursor,
      (d) => {
        const x = d.iocEnriched;
        if (category && !x.categories.includes(category)) return;
        buffer.push({
          kind: 'ioc',
          at: now(),
          title: `${x.type} ${x.value}`,
          detail: `${x.riskLevel ?? 'no verdict yet'} ${x.riskScore ?? ''} ${x.categories.join(', ')}`.trim(),
        });
      },
    );
    return () => subs.forEach((s) => s.unsubscribe());
  }, [client, buffer, kinds, minSeverity, category, country, connection, reconnected, retry]);

  return { buffer, errors };
}
