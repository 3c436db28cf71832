import { useApolloClient, useQuery } from '@apollo/client/react';
import { useEffect, useMemo, useState } from 'react';
import { ErrorNote } from '../errors';
import { graphql } from '../gql';
import { ThreatDetectedDoc } from '../live/live-docs';
import { countryShapes, mapHeight, mapWidth, project, spherePath } from '../map/world';
import { href, navigate, useParams } from '../router';
import { intParam, SeveritySelect, severityColor } from '../ui';

const ThreatMapDoc = graphql(`
  query ThreatMap($since: DateTime, $minSeverity: Int) {
    threatMap(since: $since, minSeverity: $minSeverity) {
      countryCode
      countryName
      city
      latitude
      longitude
      approximate
      count
      maxSeverity
    }
  }
`);

export const windows: Record<string, number> = {
  '1h': 3_600_000,
  '24h': 86_400_000,
  '7d': 7 * 86_400_000,
  '30d': 30 * 86_400_000,
};

interface Point {
  key: string;
  countryCode?: string | null;
  label: string;
  latitude: number;
  longitude: number;
  approximate: boolean;
  count: number;
  maxSeverity: number;
}

interface Pulse {
  id: string;
  x: number;
  y: number;
  color: string;
}

const pointKey = (lat: number, lon: number) => `${lat.toFixed(2)},${lon.toFixed(2)}`;

export default function MapView() {
  const [params, setParams] = useParams();
  const windowName = params.get('window') ?? '24h';
  const windowMs = windows[windowName] ?? windows['24h']!;
  const minSeverity = intParam(params.get('minSeverity'), 1, 10);
  // Rounded to the minute so re-renders do not change the variables (and refetch).
  const since = useMemo(
    () => new Date(Math.floor(Date.now() / 60_000) * 60_000 - windowMs).toISOString(),
    [windowMs],
  );
  const { data, error, loading } = useQuery(ThreatMapDoc, { variables: { since, minSeverity } });
  const [live, setLive] = useState<Map<string, Point>>(new Map());
  const [pulses, setPulses] = useState<Pulse[]>([]);
  const client = useApolloClient();
  const shapes = useMemo(() => countryShapes(), []);

  useEffect(() => setLive(new Map()), [data]);

  useEffect(() => {
    const sub = client
      .subscribe({
        query: ThreatDetectedDoc,
        variables: { minSeverity: minSeverity ?? null },
        fetchPolicy: 'no-cache',
      })
      .subscribe({
        next: ({ data: d }) => {
          const t = d?.threatDetected;
          const geo = t?.geo;
          if (!t || !geo || geo.latitude == null || geo.longitude == null) return;
          const xy = project(geo.longitude, geo.latitude);
          if (!xy) return;
          const key = pointKey(geo.latitude, geo.longitude);
          setLive((prev) => {
            const next = new Map(prev);
            const old = next.get(key);
            next.set(key, {
              key,
              countryCode: geo.countryCode,
              label: geo.countryName ?? geo.countryCode ?? key,
              latitude: geo.latitude!,
              longitude: geo.longitude!,
              approximate: geo.approximate,
              count: (old?.count ?? 0) + 1,
              maxSeverity: Math.max(old?.maxSeverity ?? 0, t.severity),
            });
            return next;
          });
          const pulse = { id: t.id, x: xy[0], y: xy[1], color: severityColor(t.severity) };
          setPulses((p) => [...p.slice(-49), pulse]);
          setTimeout(() => setPulses((p) => p.filter((x) => x !== pulse)), 2_000);
        },
      });
    return () => sub.unsubscribe();
  }, [client, minSeverity]);

  const points = useMemo(() => {
    const merged = new Map<string, Point>();
    for (const p of data?.threatMap ?? []) {
      const key = pointKey(p.latitude, p.longitude);
      merged.set(key, {
        key,
        ...p,
        label: [p.city, p.countryName ?? p.countryCode].filter(Boolean).join(', ') || key,
      });
    }
    for (const [key, p] of live) {
      const base = merged.get(key);
      merged.set(
        key,
        base
          ? { ...base, count: base.count + p.count, maxSeverity: Math.max(base.maxSeverity, p.maxSeverity) }
          : p,
      );
    }
    return [...merged.values()].sort((a, b) => b.count - a.count);
  }, [data, live]);
  const maxCount = Math.max(1, ...points.map((p) => p.count));
  const openCountry = (code?: string | null) => code && navigate(href('events', { country: code }));

  return (
    <section>
      <h2>Map</h2>
      <div className="filters">
        <label>
          Window
          <select value={windowName} onChange={(e) => setParams({ window: e.target.value })}>
            {Object.keys(windows).map((w) => (
              <option key={w}>{w}</option>
            ))}
          </select>
        </label>
        <SeveritySelect value={minSeverity} onChange={(v) => setParams({ minSeverity: v?.toString() })} />
        <span className="muted">
          {loading ? 'Loading…' : `${points.length} locations`} · circle area ∝ events, colour = highest
          severity, dashed = country centroid (no city known). Click a point or country for its events.
        </span>
      </div>
      <ErrorNote error={error} action="Loading the threat map" />
      <svg
        className="world"
        viewBox={`0 0 ${mapWidth} ${mapHeight}`}
        role="img"
        aria-label="World map of threats"
      >
        <path d={spherePath()} className="sphere" />
        {shapes.map((s) => (
          <path key={s.id} d={s.d} className="country" onClick={() => openCountry(s.code)}>
            <title>{s.name}</title>
          </path>
        ))}
        {points.map((p) => {
          const xy = project(p.longitude, p.latitude);
          if (!xy) return null;
          const r = 3 + 17 * Math.sqrt(p.count / maxCount);
          return (
            <circle
              key={p.key}
              className={p.approximate ? 'point approximate' : 'point'}
              data-country={p.countryCode ?? ''}
              data-count={p.count}
              cx={xy[0]}
              cy={xy[1]}
              r={r}
              fill={severityColor(p.maxSeverity)}
              onClick={() => openCountry(p.countryCode)}
            >
              <title>{`${p.label}: ${p.count} events, max severity ${p.maxSeverity}${p.approximate ? ' (country centroid)' : ''}`}</title>
            </circle>
          );
        })}
        {pulses.map((p) => (
          <circle
            key={p.id}
            className="pulse"
            data-testid="map-pulse"
            cx={p.x}
            cy={p.y}
            r={6}
            stroke={p.color}
          />
        ))}
      </svg>
      {!loading && points.length === 0 ? (
        <p className="empty">
          No geolocated threats in this window. Events from private addresses have no location.
        </p>
      ) : null}
    </section>
  );
}
