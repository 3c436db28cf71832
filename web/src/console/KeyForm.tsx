import { useState, type FormEvent } from 'react';

export function KeyForm(props: { onSave(key: string, remember: boolean): void; problem?: React.ReactNode }) {
  const [key, setKey] = useState('');
  const [remember, setRemember] = useState(false);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (key.trim()) props.onSave(key.trim(), remember);
  };
  return (
    <main className="key-page">
      <form className="card key-form" onSubmit={submit}>
        <h1>threatwire console</h1>
        <p>
          Enter an API key. Its role decides what you can do here: READER views, ANALYST also bans and labels,
          ADMIN also manages keys.
        </p>
        {props.problem}
        <label htmlFor="tw-console-key">API key</label>
        <input
          id="tw-console-key"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={key}
          onChange={(e) => setKey(e.target.value)}
          placeholder="tw_…"
          autoFocus
        />
        <label className="inline">
          <input type="checkbox" checked={remember} onChange={(e) => setRemember(e.target.checked)} />
          Remember on this browser (otherwise the key is kept for this tab only)
        </label>
        <button type="submit" disabled={!key.trim()}>
          Open console
        </button>
        <p className="muted">
          No key yet? An admin creates one in Admin → API keys, or see the README. The raw API is at{' '}
          <a href="/graphiql">/graphiql</a>.
        </p>
      </form>
    </main>
  );
}
