/** A collapsible JSON tree: objects and arrays fold, so large vendor bodies stay readable. */
function Node({ name, value, depth }: { name?: string; value: unknown; depth: number }) {
  const label = name !== undefined ? <span className="json-key">{name}: </span> : null;
  if (value === null || typeof value !== 'object') {
    return (
      <div className="json-leaf">
        {label}
        <span className={`json-${value === null ? 'null' : typeof value}`}>{JSON.stringify(value)}</span>
      </div>
    );
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  return (
    <details open={depth < 1}>
      <summary>
        {label}
        {Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`}
      </summary>
      <div className="json-children">
        {entries.map(([k, v]) => (
          <Node key={k} name={k} value={v} depth={depth + 1} />
        ))}
      </div>
    </details>
  );
}

export function JsonView({ label, value }: { label: string; value: unknown }) {
  return (
    <details className="json-view">
      <summary>{label}</summary>
      {value === undefined || value === null ? (
        <p className="muted">nothing</p>
      ) : (
        <Node value={value} depth={0} />
      )}
    </details>
  );
}
