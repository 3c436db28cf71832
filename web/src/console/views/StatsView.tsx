import { useQuery } from '@apollo/client/react';
import { useMemo } from 'react';
import { ErrorNote } from '../errors';
import { graphql } from '../gql';
import { useParams } from '../router';
import { Choropleth } from '../stats/Choropleth';
import { SeriesChart } from '../stats/SeriesChart';
import { isThreatGroup, ThreatAnalytics } from '../stats/ThreatAnalytics';
import { fmtTime } from '../ui';

const StatsDoc = graphql(`
  query Stats($since: DateTime, $bucket: TimeBucketSize!) {
    statsSummary(since: $since) {
      alerts
      decisions
      activeDecisions
      attackers
      scenarios
      countries
      threatEvents
    }
    timeSeries(bucket: $bucket, since: $since) {
      start
      alerts
      decisions
      threatEvents
    }
    topScenarios(since: $since, limit: 10) {
      scenario
      alerts
      attackers
    }
    topAttackers(since: $since, limit: 10) {
      value
      scope
      alerts
      scenarios
      lastSeenAt
      geo {
        countryCode
      }
    }
    countryStats(since: $since, limit: 250) {
      countryCode
      countryName
      alerts
      decisions
      activeDecisions
      threatEvents
    }
  }
`);

const ranges: Record<string, { ms: number; bucket: 'HOUR' | 'DAY' }> = {
  '24h': { ms: 86_400_000, bucket: 'HOUR' },
  '7d': { ms: 7 * 86_400_000, bucket: 'HOUR' },
  '30d': { ms: 30 * 86_400_000, bucket: 'DAY' },
  '90d': { ms: 90 * 86_400_000, bucket: 'DAY' },
};

export default function StatsView() {
  const [params, setParams] = useParams();
  const rangeName = params.get('range') ?? '24h';
  const range = ranges[rangeName] ?? ranges['24h']!;
  const bucket =
    params.get('bucket') === 'DAY' ? 'DAY' : params.get('bucket') === 'HOUR' ? 'HOUR' : range.bucket;
  const since = useMemo(
    () => new Date(Math.floor(Date.now() / 60_000) * 60_000 - range.ms).toISOString(),
    [range.ms],
  );
  const { data, error, loading } = useQuery(StatsDoc, { variables: { since, bucket } });
  const groupParam = params.get('group');
  const group = isThreatGroup(groupParam) ? groupParam : 'CATEGORY';
  const series = useMemo(() => {
    const ts = data?.timeSeries ?? [];
    return {
      x: ts.map((b) => Date.parse(b.start) / 1000),
      series: [
        { label: 'threat events', color: '#4cc9f0', values: ts.map((b) => b.threatEvents) },
        { label: 'alerts', color: '#f2b134', values: ts.map((b) => b.alerts) },
        { label: 'decisions', color: '#ef476f', values: ts.map((b) => b.decisions) },
      ],
    };
  }, [data]);
  const counts = useMemo(
    () => new Map((data?.countryStats ?? []).map((c) => [c.countryCode, c.alerts + c.threatEvents])),
    [data],
  );
  const s = data?.statsSummary;
  const tiles: [string, number | undefined][] = [
    ['threat events', s?.threatEvents],
    ['alerts', s?.alerts],
    ['new decisions', s?.decisions],
    ['active decisions', s?.activeDecisions],
    ['attackers', s?.attackers],
    ['scenarios', s?.scenarios],
    ['countries', s?.countries],
  ];
  return (
    <section>
      <h2>Statistics</h2>
      <div className="filters">
        <label>
          Range
          <select value={rangeName} onChange={(e) => setParams({ range: e.target.value, bucket: undefined })}>
            {Object.keys(ranges).map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        <label>
          Buckets
          <select value={bucket} onChange={(e) => setParams({ bucket: e.target.value })}>
            <option value="HOUR">hour</option>
            <option value="DAY">day</option>
          </select>
        </label>
        {loading ? <span className="muted">Loading…</span> : null}
      </div>
      <ErrorNote error={error} action="Loading statistics" />
      <div className="tiles" data-testid="stat-tiles">
        {tiles.map(([label, n]) => (
          <div className="tile" key={label} data-stat={label}>
            <div className="n">{n ?? '–'}</div>
            <div className="muted">{label}</div>
          </div>
        ))}
      </div>
      {data ? <SeriesChart data={series} /> : null}
      <ThreatAnalytics
        since={since}
        group={group}
        onGroup={(g) => setParams({ group: g === 'CATEGORY' ? undefined : g })}
      />
      <div className="split">
        <section>
          <h3>Top scenarios</h3>
          <table>
            <thead>
              <tr>
                <th>Scenario</th>
                <th>Alerts</th>
                <th>Attackers</th>
              </tr>
            </thead>
            <tbody>
              {data?.topScenarios.map((t) => (
                <tr key={t.scenario}>
                  <td>{t.scenario}</td>
                  <td>{t.alerts}</td>
                  <td>{t.attackers}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {data && data.topScenarios.length === 0 ? (
            <p className="empty">No CrowdSec alerts in this range.</p>
          ) : null}
        </section>
        <section>
          <h3>Top attackers</h3>
          <table>
            <thead>
              <tr>
                <th>Source</th>
                <th>Alerts</th>
                <th>Scenarios</th>
                <th>Country</th>
                <th>Last seen</th>
              </tr>
            </thead>
            <tbody>
              {data?.topAttackers.map((t) => (
                <tr key={`${t.scope}:${t.value}`}>
                  <td className="mono">{t.value}</td>
                  <td>{t.alerts}</td>
                  <td>{t.scenarios}</td>
                  <td>{t.geo?.countryCode ?? ''}</td>
                  <td>{fmtTime(t.lastSeenAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      </div>
      <h3>Per country</h3>
      <Choropleth counts={counts} />
      <table data-testid="country-stats">
        <thead>
          <tr>
            <th>Country</th>
            <th>Threat events</th>
            <th>Alerts</th>
            <th>Decisions</th>
            <th>Active decisions</th>
          </tr>
        </thead>
        <tbody>
          {data?.countryStats.map((c) => (
            <tr key={c.countryCode}>
              <td>
                {c.countryName ?? c.countryCode} ({c.countryCode})
              </td>
              <td>{c.threatEvents}</td>
              <td>{c.alerts}</td>
              <td>{c.decisions}</td>
              <td>{c.activeDecisions}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
