import { useMutation, useQuery } from '@apollo/client/react';
import { ErrorNote } from '../errors';
import { graphql } from '../gql';
import { fmtTime } from '../ui';
import { can, useViewer } from '../viewer';
import { Curation } from './Curation';
import { Gauge } from './Gauge';
import { JsonView } from './JsonView';

export const LookupDoc = graphql(`
  query LookupIoc($value: String!, $refresh: Boolean, $debug: Boolean) {
    lookupIoc(value: $value, refresh: $refresh, debug: $debug) {
      id
      type
      value
      riskScore
      riskLevel
      categories
      watched
      tags
      note
      verdict {
        verdict
        note
        setBy {
          id
          name
        }
        setAt
        expiresAt
        active
      }
      lastEnrichedAt
      nextEnrichAt
      geo {
        countryCode
        countryName
        city
        asn
        asOrg
        approximate
      }
      sources {
        source
        status
        score
        categories
        data
        error
        errorKind
        deferred
        retryAt
        durationMs
        fetchedAt
        raw
      }
      ...IocScoreBreakdown
      decisions {
        id
        type
        scenario
        origin
        expiresAt
      }
      enrichments(first: 10) {
        totalCount
        edges {
          node {
            id
            source
            status
            score
            durationMs
            fetchedAt
            errorKind
          }
        }
      }
    }
  }
`);

const WatchDoc = graphql(`
  mutation WatchIoc($values: [String!]!) {
    watchIocs(values: $values) {
      id
      watched
      nextEnrichAt
    }
  }
`);

export function IocCard({ value, debug }: { value: string; debug: boolean }) {
  const viewer = useViewer();
  const { data, error, loading, refetch } = useQuery(LookupDoc, {
    variables: { value, debug },
    fetchPolicy: 'cache-first',
  });
  const [watch, watchState] = useMutation(WatchDoc);
  const ioc = data?.lookupIoc;
  return (
    <article className="card ioc-card" data-testid="ioc-card" data-value={value}>
      <header>
        <h3>{ioc?.value ?? value}</h3>
        {ioc ? <span className="badge">{ioc.type}</span> : null}
        {ioc?.watched ? <span className="badge">watched</span> : null}
        <button
          disabled={loading}
          onClick={() => void refetch({ value, debug, refresh: true }).catch(() => undefined)}
        >
          Refresh
        </button>
        {can(viewer, 'ANALYST') && ioc && !ioc.watched ? (
          <button onClick={() => void watch({ variables: { values: [value] } }).catch(() => undefined)}>
            Watch
          </button>
        ) : null}
      </header>
      {loading && !ioc ? <p className="muted">Asking the sources…</p> : null}
      <ErrorNote error={error} action="Lookup" />
      <ErrorNote error={watchState.error} action="Watch" />
      {ioc ? (
        <>
          <div className="ioc-summary">
            <Gauge score={ioc.riskScore} level={ioc.riskLevel} />
            <dl>
              <dt>Categories</dt>
              <dd>{ioc.categories.join(', ') || 'none'}</dd>
              <dt>Last enriched</dt>
              <dd>{ioc.lastEnrichedAt ? fmtTime(ioc.lastEnrichedAt) : 'never'}</dd>
              {ioc.nextEnrichAt ? (
                <>
                  <dt>Next enrichment</dt>
                  <dd>{fmtTime(ioc.nextEnrichAt)}</dd>
                </>
              ) : null}
              {ioc.geo ? (
                <>
                  <dt>GeoIP</dt>
                  <dd>
                    {[ioc.geo.city, ioc.geo.countryName ?? ioc.geo.countryCode].filter(Boolean).join(', ')}
                    {ioc.geo.asn ? ` · AS${ioc.geo.asn} ${ioc.geo.asOrg ?? ''}` : ''}
                  </dd>
                </>
              ) : null}
              <dt>CrowdSec decisions</dt>
              <dd data-testid="ioc-decisions">
                {ioc.decisions.length === 0
                  ? 'none active'
                  : ioc.decisions
                      .map((d) => `${d.type} (${d.scenario}) until ${fmtTime(d.expiresAt)}`)
                      .join('; ')}
              </dd>
            </dl>
          </div>
          <Curation ioc={ioc} />
          <h4>Verdict explanation</h4>
          <table className="breakdown" data-testid="score-breakdown">
            <thead>
              <tr>
                <th>Source</th>
                <th>Status</th>
                <th>Sub-score</th>
                <th>Weight</th>
                <th>Reliability</th>
                <th>Contribution</th>
                <th>Note</th>
              </tr>
            </thead>
            <tbody>
              {ioc.scoreBreakdown.map((b) => (
                <tr key={b.source} data-source={b.source}>
                  <td>{b.source}</td>
                  <td>{b.status}</td>
                  <td>{b.subScore ?? '–'}</td>
                  <td>{b.weight.toFixed(2)}</td>
                  <td>{b.reliability.toFixed(2)}</td>
                  <td>{b.contribution.toFixed(1)}</td>
                  <td>
                    {b.note}
                    {b.source === 'ANALYST' && b.expiresAt ? ` (until ${fmtTime(b.expiresAt)})` : ''}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <div className="source-cards">
            {ioc.sources.map((s) => (
              <section
                key={s.source}
                className={`card source status-${s.status}`}
                data-testid="source-card"
                data-source={s.source}
              >
                <h4>
                  {s.source} <span className="badge">{s.status}</span>
                </h4>
                <p>
                  score {s.score ?? '–'} · {s.durationMs} ms · {fmtTime(s.fetchedAt)}
                </p>
                {s.categories.length ? <p>{s.categories.join(', ')}</p> : null}
                {s.deferred ? (
                  <p className="warn">deferred until {s.retryAt ? fmtTime(s.retryAt) : 'later'}</p>
                ) : null}
                {s.error ? (
                  <p className="warn">
                    {s.errorKind}: {s.error}
                  </p>
                ) : null}
                <JsonView label="key facts" value={s.data} />
                {debug ? <JsonView label="raw vendor body" value={s.raw} /> : null}
              </section>
            ))}
          </div>
          <details>
            <summary>History ({ioc.enrichments.totalCount} fetches)</summary>
            <ul>
              {ioc.enrichments.edges.map(({ node }) => (
                <li key={node.id}>
                  {fmtTime(node.fetchedAt)} {node.source} {node.status} {node.score ?? ''}{' '}
                  {node.errorKind ?? ''} ({node.durationMs} ms)
                </li>
              ))}
            </ul>
          </details>
        </>
      ) : null}
    </article>
  );
}
