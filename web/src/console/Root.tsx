import { ApolloProvider } from '@apollo/client/react';
import { useEffect, useMemo, useState } from 'react';
import { connect } from './connection';
import { ErrorNote } from './errors';
import { forgetKey, loadKey, saveKey } from './key-store';
import { KeyForm } from './KeyForm';
import { Shell } from './Shell';

/** Holds the API key; a new key means a new client and socket (connectionParams are sent once). */
export function Root() {
  const [key, setKey] = useState(loadKey);
  const [rejected, setRejected] = useState<unknown>(undefined);
  const connection = useMemo(() => (key ? connect(key) : undefined), [key]);
  useEffect(() => () => connection?.dispose(), [connection]);

  if (!connection) {
    return (
      <KeyForm
        problem={rejected ? <ErrorNote error={rejected} action="Signing in" /> : undefined}
        onSave={(next, remember) => {
          saveKey(next, remember);
          setRejected(undefined);
          setKey(next);
        }}
      />
    );
  }
  return (
    <ApolloProvider client={connection.apollo}>
      <Shell
        connection={connection}
        onSignOut={(reason) => {
          forgetKey();
          setRejected(reason);
          setKey('');
        }}
      />
    </ApolloProvider>
  );
}
