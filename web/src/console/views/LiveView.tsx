import { useVirtualizer } from '@tanstack/react-virtual';
import { useRef, useState, useSyncExternalStore } from 'react';
import { ErrorNote } from '../errors';
import { feedKinds, kindLabels, maxRows, type FeedKind, type FeedSnapshot } from '../live/feed';
import { useLiveFeed } from '../live/useLiveFeed';
import { useParams } from '../router';
import {
  CategorySelect,
  countryParam,
  CountryInput,
  intParam,
  isCategory,
  SeveritySelect,
  severityColor,
} from '../ui';

function parseKinds(value: string | null): FeedKind[] {
  if (!value) return [...feedKinds];
  const picked = value.split(',').filter((k): k is FeedKind => (feedKinds as readonly string[]).includes(k));
  return picked.length > 0 ? picked : [...feedKinds];
}

function Counters({ snap }: { snap: FeedSnapshot }) {
  const [current, previous] = snap.minutes;
  return (
    <table className="counters" data-testid="live-counters">
      <thead>
        <tr>
          <th>per minute</th>
          {feedKinds.map((k) => (
            <th key={k}>{kindLabels[k]}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {[
          ['this minute', current],
          ['previous', previous],
        ].map(([label, m]) => (
          <tr key={label as string}>
            <th>{label as string}</th>
            {feedKinds.map((k) => (
              <td key={k} data-kind={k}>
                {(m as FeedSnapshot['minutes'][number] | undefined)?.counts[k] ?? 0}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function FeedList({ snap }: { snap: FeedSnapshot }) {
  const parent = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({
    count: snap.rows.length,
    getScrollElement: () => parent.current,
    estimateSize: () => 34,
    overscan: 8,
  });
  if (snap.rows.length === 0) {
    return (
      <p className="empty">
        Waiting for events… Ingest threat events (mutation ingestThreatEvents with an INGESTOR key), connect a
        CrowdSec LAPI (CROWDSEC_LAPI_URL) or look up an IOC to see them here.
      </p>
    );
  }
  return (
    <div ref={parent} className="feed" data-testid="live-feed">
      <div style={{ height: virtual.getTotalSize(), position: 'relative' }}>
        {virtual.getVirtualItems().map((item) => {
          const row = snap.rows[item.index]!;
          return (
            <div
              key={row.key}
              className={`feed-row kind-${row.kind}`}
              data-kind={row.kind}
              style={{
                position: 'absolute',
                top: 0,
                left: 0,
                right: 0,
                height: item.size,
                transform: `translateY(${item.start}px)`,
              }}
            >
              <span className="time">{new Date(row.at).toLocaleTimeString()}</span>
              <span className="badge">{kindLabels[row.kind]}</span>
              {row.severity !== undefined ? (
                <span className="sev" style={{ background: severityColor(row.severity) }}>
                  {row.severity}
                </span>
              ) : null}
              <span className="title">{row.title}</span>
              <span className="muted">{row.detail}</span>
              {row.country ? <span className="cc">{row.country}</span> : null}
            </div>
          );
        })}
      </div>
    </div>
  );
}

export default function LiveView() {
  const [params, setParams] = useParams();
  const kinds = parseKinds(params.get('kinds'));
  const minSeverity = intParam(params.get('minSeverity'), 1, 10);
  const categoryRaw = params.get('category');
  const category = isCategory(categoryRaw) ? categoryRaw : undefined;
  const country = countryParam(params.get('country'));
  const { buffer, errors } = useLiveFeed({ kinds, minSeverity, category, country });
  const snap = useSyncExternalStore(buffer.subscribe, buffer.snapshot);
  const [paused, setPaused] = useState(false);

  const toggleKind = (k: FeedKind) => {
    const next = kinds.includes(k) ? kinds.filter((x) => x !== k) : [...kinds, k];
    setParams({ kinds: next.length === feedKinds.length || next.length === 0 ? undefined : next.join(',') });
  };

  return (
    <section>
      <h2>Live</h2>
      <div className="filters">
        <fieldset>
          <legend>Kinds</legend>
          {feedKinds.map((k) => (
            <label key={k} className="inline">
              <input
                type="checkbox"
                name={`kind-${k}`}
                checked={kinds.includes(k)}
                onChange={() => toggleKind(k)}
              />
              {kindLabels[k]}
            </label>
          ))}
        </fieldset>
        <SeveritySelect value={minSeverity} onChange={(v) => setParams({ minSeverity: v?.toString() })} />
        <CategorySelect value={category} onChange={(v) => setParams({ category: v })} />
        <CountryInput value={country} onChange={(v) => setParams({ country: v })} />
        <button
          onClick={() => {
            buffer.setPaused(!paused);
            setPaused(!paused);
          }}
        >
          {paused
            ? `Resume (${snap.held} held${snap.heldDropped ? `, ${snap.heldDropped} dropped` : ''})`
            : 'Pause'}
        </button>
        <button onClick={() => buffer.clear()}>Clear</button>
      </div>
      {Object.entries(errors).map(([k, e]) => (
        <ErrorNote key={k} error={e} action={`Subscribing to ${kindLabels[k as FeedKind]}`} />
      ))}
      <Counters snap={snap} />
      <p className="muted">
        {snap.total} received since this view opened; the newest {maxRows} are kept. Severity, category and
        country apply to threats on the server; country also to decisions and alerts, category to IOCs.
      </p>
      <FeedList snap={snap} />
    </section>
  );
}
