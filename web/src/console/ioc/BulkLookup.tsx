import { useLazyQuery } from '@apollo/client/react';
import { useState } from 'react';
import { ErrorNote } from '../errors';
import { graphql } from '../gql';

const BulkDoc = graphql(`
  query LookupIocsBulk($values: [String!]!) {
    lookupIocs(values: $values) {
      index
      input
      duplicateOf
      error {
        code
        message
      }
      ioc {
        id
        value
        type
        riskScore
        riskLevel
        refanged
        normalizations
      }
    }
  }
`);

/** lookupIocs takes at most this many values (IOC_LOOKUP_MAX's default). */
export const maxBulk = 100;

/** One indicator per line, in order; blank lines dropped, duplicates kept (the API reports them). */
export function bulkLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
}

/** onOpen: show the full card of one answered IOC. */
export function BulkLookup({ onOpen }: { onOpen(value: string): void }) {
  const [text, setText] = useState('');
  const lines = bulkLines(text);
  // Not cached: input, refanged and normalizations belong to each answer, not to the IOC, so
  // two lines naming the same IOC (one defanged) must not share them through the cache.
  const [run, { data, error, loading }] = useLazyQuery(BulkDoc, { fetchPolicy: 'no-cache' });
  const rows = data?.lookupIocs ?? [];
  return (
    <section className="bulk-lookup" aria-labelledby="bulk-lookup-title">
      <h3 id="bulk-lookup-title">Bulk lookup</h3>
      <form
        className="ioc-form"
        onSubmit={(e) => {
          e.preventDefault();
          void run({ variables: { values: lines } }).catch(() => undefined);
        }}
      >
        <label className="block">
          Indicators, one per line (defanged forms such as hxxp://evil[.]com or 1[.]2[.]3[.]4 are accepted; at
          most {maxBulk})
          <textarea
            name="bulk"
            rows={Math.min(10, Math.max(3, lines.length + 1))}
            value={text}
            onChange={(e) => setText(e.target.value)}
          />
        </label>
        <div className="filters">
          <button type="submit" disabled={lines.length === 0 || lines.length > maxBulk || loading}>
            Look up all
          </button>
          <span className="muted">
            {lines.length} line{lines.length === 1 ? '' : 's'}
          </span>
          {loading ? <span className="muted">Asking the sources…</span> : null}
        </div>
        {lines.length > maxBulk ? (
          <p className="warn">
            {lines.length} lines: a bulk lookup takes at most {maxBulk}; split the list.
          </p>
        ) : null}
      </form>
      <ErrorNote error={error} action="Bulk lookup" />
      {rows.length > 0 ? (
        <div className="table-scroll">
          <table data-testid="bulk-results">
            <thead>
              <tr>
                <th>#</th>
                <th>Input</th>
                <th>Value</th>
                <th>Type</th>
                <th>Score</th>
                <th>Level</th>
                <th>What changed</th>
                <th>Result</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.index} data-testid="bulk-row" className={r.error ? 'bulk-error' : undefined}>
                  <td>{r.index + 1}</td>
                  <td className="mono">{r.input}</td>
                  <td className="mono">
                    {r.ioc ? (
                      <button
                        type="button"
                        className="link"
                        title="Open its card"
                        onClick={() => r.ioc && onOpen(r.ioc.value)}
                      >
                        {r.ioc.value}
                      </button>
                    ) : (
                      '–'
                    )}
                  </td>
                  <td>{r.ioc?.type ?? '–'}</td>
                  <td>{r.ioc ? (r.ioc.riskScore ?? 'unknown') : '–'}</td>
                  <td>{r.ioc ? (r.ioc.riskLevel ?? 'unknown') : '–'}</td>
                  <td>{r.ioc?.normalizations.length ? r.ioc.normalizations.join('; ') : '–'}</td>
                  <td>
                    {r.error ? (
                      <span className="warn">
                        <code className="error-code">{r.error.code}</code> {r.error.message}
                      </span>
                    ) : r.duplicateOf !== null && r.duplicateOf !== undefined ? (
                      `same IOC as #${r.duplicateOf + 1}`
                    ) : (
                      'ok'
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
