import { useQuery } from '@apollo/client/react';
import { ErrorNote } from '../errors';
import { graphql } from '../gql';
import type { ThreatStatsGroup, ThreatStatsQuery } from '../gql/graphql';

const ThreatStatsDoc = graphql(`
  query ThreatStats($since: DateTime, $groupBy: [ThreatStatsGroup!]!, $limit: Int) {
    threatStats(since: $since, groupBy: $groupBy, limit: $limit, previous: true) {
      category
      severity
      threatType
      countryCode
      countryName
      sourceIp
      destinationPort
      count
      previousCount
    }
  }
`);

type Row = ThreatStatsQuery['threatStats'][number];

export const threatGroups: Record<ThreatStatsGroup, string> = {
  CATEGORY: 'Category',
  SEVERITY: 'Severity',
  THREAT_TYPE: 'Threat type',
  COUNTRY: 'Country',
  SOURCE_IP: 'Source IP',
  DESTINATION_PORT: 'Destination port',
};

export function isThreatGroup(value: string | null): value is ThreatStatsGroup {
  return value !== null && Object.hasOwn(threatGroups, value);
}

function keyOf(row: Row, group: ThreatStatsGroup): string {
  switch (group) {
    case 'CATEGORY':
      return row.category ?? 'unknown';
    case 'SEVERITY':
      return row.severity === null || row.severity === undefined ? 'unknown' : String(row.severity);
    case 'THREAT_TYPE':
      return row.threatType ?? 'unknown';
    case 'COUNTRY':
      return row.countryCode ? `${row.countryName ?? row.countryCode} (${row.countryCode})` : 'unknown';
    case 'SOURCE_IP':
      return row.sourceIp ?? 'unknown';
    case 'DESTINATION_PORT':
      return row.destinationPort === null || row.destinationPort === undefined
        ? 'none'
        : String(row.destinationPort);
  }
}

/** "+2 (+200%)", "−1 (−50%)", "0 (0%)"; "+3 (new)" when the previous window had none. */
export function fmtChange(count: number, previous: number): string {
  const diff = count - previous;
  const signed = (n: number): string => (n > 0 ? `+${n}` : n < 0 ? `−${-n}` : '0');
  if (previous === 0) return diff === 0 ? '0' : `${signed(diff)} (new)`;
  return `${signed(diff)} (${signed(Math.round((diff / previous) * 100))}%)`;
}

/**
 * Threat events of the selected window counted by one dimension, beside the window of the
 * same length just before it (threatStats with previous: true).
 */
export function ThreatAnalytics(props: {
  since: string;
  group: ThreatStatsGroup;
  onGroup(group: ThreatStatsGroup): void;
}) {
  const { since, group } = props;
  const { data, error, loading } = useQuery(ThreatStatsDoc, {
    variables: { since, groupBy: [group], limit: 25 },
  });
  const rows = data?.threatStats ?? [];
  return (
    <section aria-labelledby="threat-analytics-title">
      <h3 id="threat-analytics-title">Threat events: this window against the previous one</h3>
      <div className="filters">
        <label>
          Group by
          <select
            name="threat-group"
            value={group}
            onChange={(e) => {
              if (isThreatGroup(e.target.value)) props.onGroup(e.target.value);
            }}
          >
            {Object.entries(threatGroups).map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
        {loading ? <span className="muted">Loading…</span> : null}
      </div>
      <ErrorNote error={error} action="Loading threat analytics" />
      <table data-testid="threat-stats">
        <thead>
          <tr>
            <th>{threatGroups[group]}</th>
            <th>This window</th>
            <th>Previous window</th>
            <th>Change</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => {
            const previous = r.previousCount ?? 0;
            return (
              <tr key={keyOf(r, group)}>
                <td className={group === 'SOURCE_IP' ? 'mono' : undefined}>{keyOf(r, group)}</td>
                <td>{r.count}</td>
                <td>{previous}</td>
                <td
                  className={
                    r.count > previous ? 'change-up' : r.count < previous ? 'change-down' : undefined
                  }
                >
                  {fmtChange(r.count, previous)}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {data && rows.length === 0 ? <p className="empty">No threat events in this range.</p> : null}
    </section>
  );
}
