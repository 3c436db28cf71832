import { useState } from 'react';
import type { FormEvent } from 'react';
import { maskApiKey } from './api-key';
import type { AuthStatus } from './auth-status';

interface KeyBarProps {
  apiKey: string;
  status: AuthStatus;
  onChange(key: string): void;
}

function statusText(apiKey: string, status: AuthStatus): string {
  if (!apiKey) return 'No API key set: the server will refuse every operation.';
  switch (status) {
    case 'accepted':
      return `Using key ${maskApiKey(apiKey)}.`;
    case 'rejected':
      return `The server rejected key ${maskApiKey(apiKey)}.`;
    case 'unknown':
      return `Key ${maskApiKey(apiKey)} saved; it is checked on the next request.`;
  }
}

/** The one place to enter the API key; the key goes to localStorage via onChange. */
export function KeyBar({ apiKey, status, onChange }: KeyBarProps) {
  const [draft, setDraft] = useState('');
  const rejected = status === 'rejected' || !apiKey;

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const key = draft.trim();
    if (!key) return;
    onChange(key);
    setDraft('');
  };

  return (
    <header className="tw-keybar">
      <span className="tw-brand">threatwire</span>
      <form className="tw-keyform" onSubmit={submit} autoComplete="off">
        <label htmlFor="tw-api-key">API key</label>
        <input
          id="tw-api-key"
          type="password"
          placeholder={apiKey ? 'enter a new key to replace the saved one' : 'paste your API key'}
          value={draft}
          spellCheck={false}
          onChange={(event) => setDraft(event.target.value)}
        />
        <button type="submit" disabled={!draft.trim()}>
          Save key
        </button>
        {apiKey ? (
          <button type="button" onClick={() => onChange('')}>
            Forget key
          </button>
        ) : null}
      </form>
      <span className={`tw-status tw-status-${status}`} data-status={status}>
        {statusText(apiKey, status)}
      </span>
      {rejected ? (
        <p className="tw-alert" role="alert">
          {status === 'rejected'
            ? 'UNAUTHENTICATED: the server did not accept this API key. Enter a valid key above (an admin creates one with the createApiKey mutation).'
            : 'Enter an API key to use the API. The first start of the server prints an ADMIN key.'}
        </p>
      ) : null}
    </header>
  );
}
