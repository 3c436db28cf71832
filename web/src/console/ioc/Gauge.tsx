const levelColor: Record<string, string> = {
  LOW: '#2a9d8f',
  MEDIUM: '#f2b134',
  HIGH: '#f46036',
  CRITICAL: '#d7263d',
};

/** A half-circle gauge for the fused 0–100 score; "no verdict" when no source has an opinion. */
export function Gauge({ score, level }: { score?: number | null; level?: string | null }) {
  const angle = Math.PI * (1 - (score ?? 0) / 100);
  const x = 60 + 50 * Math.cos(angle);
  const y = 60 - 50 * Math.sin(angle);
  const color = level ? (levelColor[level] ?? '#7d8597') : '#7d8597';
  return (
    <svg className="gauge" viewBox="0 0 120 70" role="img" aria-label={`risk ${score ?? 'unknown'}`}>
      <path d="M10 60 A50 50 0 0 1 110 60" className="gauge-track" />
      {score != null ? (
        <path
          d={`M10 60 A50 50 0 0 1 ${x.toFixed(1)} ${y.toFixed(1)}`}
          stroke={color}
          className="gauge-value"
        />
      ) : null}
      <text x="60" y="55" textAnchor="middle" className="gauge-score" data-testid="risk-score">
        {score ?? '–'}
      </text>
      <text x="60" y="68" textAnchor="middle" className="gauge-level" fill={color}>
        {level ?? 'no verdict'}
      </text>
    </svg>
  );
}
