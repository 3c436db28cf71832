import { useMutation, useQuery } from '@apollo/client/react';
import { useState } from 'react';
import { ErrorNote } from '../errors';
import type { ThreatCategory } from '../gql/graphql';
import { JsonView } from '../ioc/JsonView';
import { categories, fmtTime } from '../ui';
import { can, useViewer } from '../viewer';
import { EventDoc, LabelDoc } from './docs';

export function EventDetail({ id, onClose }: { id: string; onClose(): void }) {
  const viewer = useViewer();
  const { data, error, loading } = useQuery(EventDoc, { variables: { id } });
  const [label, labelState] = useMutation(LabelDoc);
  const [category, setCategory] = useState<ThreatCategory>('SCAN');
  const e = data?.threatEvent;
  return (
    <aside className="card detail" data-testid="event-detail">
      <header className="filters">
        <h3>Event {id}</h3>
        <button onClick={onClose}>Close</button>
      </header>
      {loading && !e ? <p className="muted">Loading…</p> : null}
      <ErrorNote error={error} action="Loading the event" />
      {data && !e ? <p className="empty">No event with this id.</p> : null}
      {e ? (
        <>
          <table>
            <tbody>
              <tr>
                <th>Type</th>
                <td>
                  {e.threatType} (severity {e.severity}, confidence {e.confidence})
                </td>
              </tr>
              <tr>
                <th>Source</th>
                <td className="mono">
                  {e.sourceIp}
                  {e.sourcePort != null ? `:${e.sourcePort}` : ''}
                </td>
              </tr>
              <tr>
                <th>Destination</th>
                <td className="mono">
                  {e.destinationIp ?? ''}
                  {e.destinationPort != null ? `:${e.destinationPort}` : ''} {e.protocol ?? ''}
                </td>
              </tr>
              <tr>
                <th>When</th>
                <td>
                  {fmtTime(e.occurredAt)} (ingested {fmtTime(e.ingestedAt)})
                </td>
              </tr>
              <tr>
                <th>Sensor</th>
                <td>
                  {e.sensor ?? ''} {e.externalId ? `· ${e.externalId}` : ''}
                </td>
              </tr>
              <tr>
                <th>Classification</th>
                <td>
                  {e.classification.category} by {e.classification.method}
                  {e.classification.modelVersion ? ` ${e.classification.modelVersion}` : ''}, confidence{' '}
                  {e.classification.confidence.toFixed(2)}
                </td>
              </tr>
              <tr>
                <th>Anomaly score</th>
                <td>
                  {e.classification.anomalyScore?.toFixed(3) ?? 'no anomaly model yet'}
                  {e.classification.isAnomaly ? ' · anomaly' : ''}
                </td>
              </tr>
              <tr>
                <th>GeoIP</th>
                <td>
                  {e.geo
                    ? `${[e.geo.city, e.geo.countryName].filter(Boolean).join(', ')}${e.geo.asn ? ` · AS${e.geo.asn} ${e.geo.asOrg ?? ''}` : ''}${e.geo.approximate ? ' (country centroid)' : ''}`
                    : 'none (private or unknown)'}
                </td>
              </tr>
              <tr>
                <th>Flags</th>
                <td>
                  {[e.knownIoc && 'known IOC', e.banned && 'banned by CrowdSec'].filter(Boolean).join(', ') ||
                    'none'}
                </td>
              </tr>
              <tr>
                <th>Tags</th>
                <td>{e.tags.join(', ')}</td>
              </tr>
              <tr>
                <th>Analyst label</th>
                <td data-testid="event-label">{e.label ?? 'none'}</td>
              </tr>
            </tbody>
          </table>
          {e.description ? <p>{e.description}</p> : null}
          <JsonView label="raw payload" value={e.raw} />
          {can(viewer, 'ANALYST') ? (
            <form
              className="filters"
              onSubmit={(ev) => {
                ev.preventDefault();
                void label({ variables: { id, category } }).catch(() => undefined);
              }}
            >
              <label>
                Label as
                <select value={category} onChange={(ev) => setCategory(ev.target.value as ThreatCategory)}>
                  {categories.map((c) => (
                    <option key={c}>{c}</option>
                  ))}
                </select>
              </label>
              <button type="submit" disabled={labelState.loading}>
                Label
              </button>
              <span className="muted">Labels train the category model.</span>
            </form>
          ) : null}
          <ErrorNote error={labelState.error} action="Labelling" />
        </>
      ) : null}
    </aside>
  );
}
