import { useQuery } from '@apollo/client/react';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useRef } from 'react';
import { ErrorNote } from '../errors';
import { EventsDoc } from '../events/docs';
import { EventDetail } from '../events/EventDetail';
import { Models } from '../events/Models';
import { useParams } from '../router';
import {
  CategorySelect,
  countryParam,
  CountryInput,
  fmtTime,
  intParam,
  isCategory,
  Pager,
  SeveritySelect,
  severityColor,
  usePager,
} from '../ui';

/** datetime-local value (local time) ↔ ISO instant in the URL. */
const toLocal = (iso: string | null) => {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? ''
    : new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
};
const fromLocal = (v: string) => (v ? new Date(v).toISOString() : undefined);
const validIso = (v: string | null) => (v && !Number.isNaN(Date.parse(v)) ? v : null);

export default function EventsView() {
  const [params, setParams] = useParams();
  const category = params.get('category');
  const filter = {
    since: validIso(params.get('since')),
    until: validIso(params.get('until')),
    minSeverity: intParam(params.get('minSeverity'), 1, 10) ?? null,
    categories: isCategory(category) ? [category] : null,
    countries: countryParam(params.get('country')) ? [countryParam(params.get('country'))!] : null,
    sourceIp: params.get('ip') || null,
    threatType: params.get('type') || null,
    anomaliesOnly: params.get('anomalies') === '1' || null,
  };
  const pager = usePager(JSON.stringify(filter));
  const { data, error, loading } = useQuery(EventsDoc, { variables: { filter, after: pager.after } });
  const selected = params.get('id');
  const rows = data?.threatEvents.edges ?? [];
  const parent = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({
    count: rows.length,
    getScrollElement: () => parent.current,
    estimateSize: () => 30,
    overscan: 10,
  });

  return (
    <section>
      <h2>Events</h2>
      <div className="filters">
        <label>
          Since
          <input
            type="datetime-local"
            defaultValue={toLocal(filter.since)}
            onChange={(e) => setParams({ since: fromLocal(e.target.value) })}
          />
        </label>
        <label>
          Until
          <input
            type="datetime-local"
            defaultValue={toLocal(filter.until)}
            onChange={(e) => setParams({ until: fromLocal(e.target.value) })}
          />
        </label>
        <SeveritySelect
          value={filter.minSeverity ?? undefined}
          onChange={(v) => setParams({ minSeverity: v?.toString() })}
        />
        <CategorySelect value={filter.categories?.[0]} onChange={(v) => setParams({ category: v })} />
        <CountryInput value={filter.countries?.[0]} onChange={(v) => setParams({ country: v })} />
        <label>
          Source IP
          <input
            name="ip"
            defaultValue={filter.sourceIp ?? ''}
            onBlur={(e) => setParams({ ip: e.target.value.trim() || undefined })}
          />
        </label>
        <label>
          Threat type
          <input
            name="type"
            defaultValue={filter.threatType ?? ''}
            onBlur={(e) => setParams({ type: e.target.value.trim() || undefined })}
          />
        </label>
        <label className="inline">
          <input
            type="checkbox"
            checked={filter.anomaliesOnly === true}
            onChange={(e) => setParams({ anomalies: e.target.checked ? '1' : undefined })}
          />
          anomalies only
        </label>
      </div>
      <ErrorNote error={error} action="Loading events" />
      <div className={selected ? 'split' : undefined}>
        <div>
          <div className="event-head feed-row">
            <span className="time">occurred</span>
            <span>sev</span>
            <span className="title">type · source</span>
            <span className="muted">category · country · sensor</span>
          </div>
          <div ref={parent} className="feed" data-testid="events-table">
            <div style={{ height: virtual.getTotalSize(), position: 'relative' }}>
              {virtual.getVirtualItems().map((item) => {
                const e = rows[item.index]!.node;
                return (
                  <div
                    key={e.id}
                    className={`feed-row event-row${e.id === selected ? ' selected' : ''}`}
                    data-id={e.id}
                    onClick={() => setParams({ id: e.id })}
                    style={{
                      position: 'absolute',
                      top: 0,
                      left: 0,
                      right: 0,
                      height: item.size,
                      transform: `translateY(${item.start}px)`,
                    }}
                  >
                    <span className="time">{fmtTime(e.occurredAt)}</span>
                    <span className="sev" style={{ background: severityColor(e.severity) }}>
                      {e.severity}
                    </span>
                    <span className="title">
                      {e.threatType} · <span className="mono">{e.sourceIp}</span>
                    </span>
                    <span className="muted">
                      {[
                        e.label ? `${e.label} (label)` : e.classification.category,
                        e.geo?.countryCode,
                        e.sensor,
                        e.classification.isAnomaly ? 'anomaly' : '',
                      ]
                        .filter(Boolean)
                        .join(' · ')}
                    </span>
                  </div>
                );
              })}
            </div>
          </div>
          {!loading && rows.length === 0 ? (
            <p className="empty">
              No events match these filters. Widen them, or ingest events with an INGESTOR key.
            </p>
          ) : null}
          <Pager
            pager={pager}
            hasNext={data?.threatEvents.pageInfo.hasNextPage}
            endCursor={data?.threatEvents.pageInfo.endCursor}
            total={data?.threatEvents.totalCount}
          />
        </div>
        {selected ? <EventDetail id={selected} onClose={() => setParams({ id: undefined })} /> : null}
      </div>
      <Models />
    </section>
  );
}
