import { useMutation } from '@apollo/client/react';
import { useState } from 'react';
import { ErrorNote } from '../errors';
import { BanDoc } from './docs';

export function BanForm({ onDone }: { onDone(): void }) {
  const [value, setValue] = useState('');
  const [duration, setDuration] = useState('4h');
  const [reason, setReason] = useState('manual ban from the threatwire console');
  const [scope, setScope] = useState('Ip');
  const [ban, { error, loading, data, reset }] = useMutation(BanDoc);
  return (
    <form
      className="card filters"
      data-testid="ban-form"
      onSubmit={(e) => {
        e.preventDefault();
        reset();
        void ban({ variables: { value: value.trim(), duration, reason, scope } })
          .then(() => onDone())
          .catch(() => undefined);
      }}
    >
      <strong>Ban</strong>
      <label>
        Scope
        <select value={scope} onChange={(e) => setScope(e.target.value)}>
          <option>Ip</option>
          <option>Range</option>
        </select>
      </label>
      <label>
        Value
        <input
          name="ban-value"
          value={value}
          onChange={(e) => setValue(e.target.value)}
          placeholder="203.0.113.7"
        />
      </label>
      <label>
        Duration
        <input name="ban-duration" value={duration} onChange={(e) => setDuration(e.target.value)} size={6} />
      </label>
      <label>
        Reason
        <input name="ban-reason" value={reason} onChange={(e) => setReason(e.target.value)} size={32} />
      </label>
      <button type="submit" className="danger" disabled={loading || !value.trim()}>
        Ban
      </button>
      {data ? <span className="muted">banned {data.banIp.value}</span> : null}
      <ErrorNote error={error} action="Ban" />
    </form>
  );
}
