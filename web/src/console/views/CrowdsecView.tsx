import { useApolloClient, useMutation, useQuery } from '@apollo/client/react';
import { useEffect } from 'react';
import { BanForm } from '../crowdsec/BanForm';
import {
  AlertsDoc,
  CrowdsecHealthDoc,
  DecisionChangesDoc,
  DecisionGoneDoc,
  DecisionsDoc,
  SyncDoc,
  UnbanDoc,
} from '../crowdsec/docs';
import { ErrorNote } from '../errors';
import { useParams } from '../router';
import { countdown, countryParam, CountryInput, fmtTime, Pager, useNow, usePager } from '../ui';
import { can, useViewer } from '../viewer';

function Status() {
  const { data, error } = useQuery(CrowdsecHealthDoc, { pollInterval: 15_000 });
  const cs = data?.health.crowdsec;
  if (error) return <ErrorNote error={error} action="Reading CrowdSec status" />;
  if (!cs) return null;
  if (!cs.configured) {
    return (
      <p className="empty" data-testid="crowdsec-status">
        No CrowdSec configured: set CROWDSEC_LAPI_URL and CROWDSEC_BOUNCER_KEY (and CROWDSEC_MACHINE_ID /
        CROWDSEC_MACHINE_PASSWORD to read alerts and ban) on the server.
      </p>
    );
  }
  return (
    <p data-testid="crowdsec-status">
      LAPI <code>{cs.lapiUrl}</code> · <span className="badge">{cs.status}</span> · lag{' '}
      {cs.lagSeconds != null ? `${cs.lagSeconds.toFixed(1)} s` : 'unknown'}
      {cs.lastError ? <span className="warn"> · last error: {cs.lastError}</span> : null}
    </p>
  );
}

export default function CrowdsecView() {
  const viewer = useViewer();
  const analyst = can(viewer, 'ANALYST');
  const [params, setParams] = useParams();
  const activeOnly = params.get('all') !== '1';
  const value = params.get('value') ?? '';
  const scenario = params.get('scenario') ?? '';
  const country = countryParam(params.get('country'));
  const filter = {
    activeOnly,
    value: value || null,
    scenario: scenario || null,
    countryCode: country ?? null,
  };
  const decisionPager = usePager(JSON.stringify(filter));
  const alertFilter = { ip: value || null, scenario: scenario || null, countryCode: country ?? null };
  const alertPager = usePager(JSON.stringify(alertFilter));
  const decisions = useQuery(DecisionsDoc, { variables: { filter, after: decisionPager.after } });
  const alerts = useQuery(AlertsDoc, { variables: { filter: alertFilter, after: alertPager.after } });
  const [unban, unbanState] = useMutation(UnbanDoc);
  const [sync, syncState] = useMutation(SyncDoc);
  const client = useApolloClient();
  const now = useNow();
  const { refetch } = decisions;

  // New and deleted decisions refresh the table (the stream keeps it current).
  useEffect(() => {
    const subs = [DecisionChangesDoc, DecisionGoneDoc].map((query) =>
      client
        .subscribe({ query, fetchPolicy: 'no-cache' })
        .subscribe({ next: () => void refetch().catch(() => undefined) }),
    );
    return () => subs.forEach((s) => s.unsubscribe());
  }, [client, refetch]);

  const refresh = () => {
    void decisions.refetch().catch(() => undefined);
    void alerts.refetch().catch(() => undefined);
  };
  const d = decisions.data?.decisions;
  const a = alerts.data?.alerts;
  return (
    <section>
      <h2>CrowdSec</h2>
      <Status />
      {analyst ? <BanForm onDone={refresh} /> : null}
      <div className="filters">
        <label className="inline">
          <input
            type="checkbox"
            checked={!activeOnly}
            onChange={(e) => setParams({ all: e.target.checked ? '1' : undefined })}
          />
          include expired and deleted
        </label>
        <label>
          IP / value
          <input
            defaultValue={value}
            onBlur={(e) => setParams({ value: e.target.value.trim() || undefined })}
          />
        </label>
        <label>
          Scenario
          <input
            defaultValue={scenario}
            onBlur={(e) => setParams({ scenario: e.target.value.trim() || undefined })}
          />
        </label>
        <CountryInput value={country} onChange={(v) => setParams({ country: v })} />
        {analyst ? (
          <button
            onClick={() =>
              void sync()
                .then(refresh)
                .catch(() => undefined)
            }
          >
            Sync from LAPI now
          </button>
        ) : null}
        {syncState.data ? (
          <span className="muted">
            +{syncState.data.syncCrowdsec.decisionsAdded} / −{syncState.data.syncCrowdsec.decisionsDeleted}{' '}
            decisions, +{syncState.data.syncCrowdsec.alertsAdded} alerts
          </span>
        ) : null}
      </div>
      <ErrorNote error={syncState.error} action="Sync" />
      <h3>Decisions</h3>
      <ErrorNote error={decisions.error} action="Loading decisions" />
      <ErrorNote error={unbanState.error} action="Unban" />
      <div className="table-scroll">
        <table data-testid="decisions">
          <thead>
            <tr>
              <th>Value</th>
              <th>Type</th>
              <th>Scenario</th>
              <th>Origin</th>
              <th>Country</th>
              <th>Expires</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {d?.edges.map(({ node }) => (
              <tr key={node.id} data-value={node.value}>
                <td className="mono">
                  {node.value} <span className="muted">{node.scope}</span>
                </td>
                <td>{node.type}</td>
                <td>{node.scenario}</td>
                <td>{node.origin}</td>
                <td>{node.geo?.countryCode ?? ''}</td>
                <td title={fmtTime(node.expiresAt)}>
                  {node.active
                    ? countdown(node.expiresAt, now)
                    : node.deletedAt
                      ? `deleted ${fmtTime(node.deletedAt)}`
                      : 'expired'}
                </td>
                <td>
                  {analyst && node.active ? (
                    <button
                      className="danger"
                      onClick={() =>
                        void unban({ variables: { id: node.id } })
                          .then(refresh)
                          .catch(() => undefined)
                      }
                    >
                      Unban
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {d && d.edges.length === 0 ? (
        <p className="empty">No decisions match. Ban an address above or widen the filters.</p>
      ) : null}
      <Pager
        pager={decisionPager}
        hasNext={d?.pageInfo.hasNextPage}
        endCursor={d?.pageInfo.endCursor}
        total={d?.totalCount}
      />
      <h3>Alerts</h3>
      <ErrorNote error={alerts.error} action="Loading alerts" />
      <div className="table-scroll">
        <table data-testid="alerts">
          <thead>
            <tr>
              <th>Started</th>
              <th>Scenario</th>
              <th>Source</th>
              <th>Events</th>
              <th>Country</th>
              <th>Decisions</th>
              <th>Machine</th>
            </tr>
          </thead>
          <tbody>
            {a?.edges.map(({ node }) => (
              <tr key={node.id}>
                <td>{fmtTime(node.startAt)}</td>
                <td>{node.scenario}</td>
                <td className="mono">
                  {node.sourceValue} <span className="muted">{node.sourceScope}</span>
                </td>
                <td>{node.eventsCount}</td>
                <td>{node.geo?.countryCode ?? ''}</td>
                <td>
                  {node.decisions.filter((x) => x.active).length} active / {node.decisions.length}
                </td>
                <td>{node.machineId ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {a && a.edges.length === 0 ? <p className="empty">No alerts match.</p> : null}
      <Pager
        pager={alertPager}
        hasNext={a?.pageInfo.hasNextPage}
        endCursor={a?.pageInfo.endCursor}
        total={a?.totalCount}
      />
    </section>
  );
}
