import { useMemo } from 'react';
import { countryShapes, mapHeight, mapWidth, spherePath } from '../map/world';
import { href, navigate } from '../router';

/** Countries shaded by count (square-root scale so one hot country does not wash out the rest). */
export function Choropleth({ counts }: { counts: Map<string, number> }) {
  const shapes = useMemo(() => countryShapes(), []);
  const max = Math.max(1, ...counts.values());
  return (
    <svg
      className="world"
      viewBox={`0 0 ${mapWidth} ${mapHeight}`}
      role="img"
      aria-label="Events and alerts per country"
    >
      <path d={spherePath()} className="sphere" />
      {shapes.map((s) => {
        const n = (s.code && counts.get(s.code)) || 0;
        const t = Math.sqrt(n / max);
        return (
          <path
            key={s.id}
            d={s.d}
            className="country"
            data-country={s.code ?? ''}
            style={n ? { fill: `rgba(239, 71, 111, ${0.15 + 0.85 * t})` } : undefined}
            onClick={() => s.code && navigate(href('events', { country: s.code }))}
          >
            <title>{`${s.name}: ${n}`}</title>
          </path>
        );
      })}
    </svg>
  );
}
