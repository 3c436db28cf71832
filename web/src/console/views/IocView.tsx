import { useState } from 'react';
import { BulkLookup } from '../ioc/BulkLookup';
import { guessType, maxIndicators, splitIndicators } from '../ioc/detect';
import { IocCard } from '../ioc/IocCard';
import { useParams } from '../router';
import { can, useViewer } from '../viewer';

export default function IocView() {
  const [params, setParams] = useParams();
  const submitted = splitIndicators(params.get('q') ?? '');
  // Raw vendor bodies are for ANALYST keys and up (the API refuses them to others).
  const analyst = can(useViewer(), 'ANALYST');
  const debug = analyst && params.get('debug') === '1';
  const [text, setText] = useState(submitted.join('\n'));
  const typed = splitIndicators(text);
  const shown = submitted.slice(0, maxIndicators);

  return (
    <section>
      <h2>IOC lookup</h2>
      <form
        className="ioc-form"
        onSubmit={(e) => {
          e.preventDefault();
          setParams({ q: typed.join('\n') || undefined });
        }}
      >
        <textarea
          name="indicators"
          aria-label="Indicators to look up"
          rows={Math.min(8, Math.max(2, typed.length + 1))}
          value={text}
          placeholder="One or many IPs, domains, URLs or hashes (MD5, SHA-1, SHA-256), one per line"
          onChange={(e) => setText(e.target.value)}
        />
        <ul className="detected" data-testid="detected-types">
          {typed.slice(0, maxIndicators).map((v) => (
            <li key={v}>
              <code>{v}</code> <span className="badge">{guessType(v)}</span>
            </li>
          ))}
        </ul>
        <div className="filters">
          <button type="submit" disabled={typed.length === 0}>
            Look up
          </button>
          {analyst ? (
            <label className="inline">
              <input
                type="checkbox"
                name="debug"
                checked={debug}
                onChange={(e) => setParams({ debug: e.target.checked ? '1' : undefined })}
              />
              debug: show each vendor&apos;s raw body
            </label>
          ) : null}
        </div>
        {typed.length > maxIndicators ? (
          <p className="warn">Only the first {maxIndicators} indicators are looked up at once.</p>
        ) : null}
      </form>
      <BulkLookup
        onOpen={(value) => {
          setText(value);
          setParams({ q: value });
        }}
      />
      {shown.length === 0 ? (
        <p className="empty">Paste indicators above and press “Look up”; the result cards appear here.</p>
      ) : null}
      {shown.map((v) => (
        <IocCard key={`${v}|${debug}`} value={v} debug={debug} />
      ))}
    </section>
  );
}
