import { GraphiQL } from 'graphiql';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { loadApiKey, saveApiKey } from './api-key';
import type { AuthStatus } from './auth-status';
import { connect } from './client';
import { KeyBar } from './KeyBar';

const defaultQuery = `# threatwire GraphQL API. Enter your API key above, then run with Ctrl+Enter.
{
  health {
    status
    database
    redis
    geoip
    version
  }
}
`;

export function App() {
  const [apiKey, setApiKey] = useState(loadApiKey);
  const [status, setStatus] = useState<AuthStatus>('unknown');

  // One connection per key: graphql-ws sends connectionParams only when it connects,
  // so a new key needs a new socket, and GraphiQL re-reads the schema for a new fetcher.
  const connection = useMemo(() => connect(apiKey, setStatus), [apiKey]);
  useEffect(() => () => connection.dispose(), [connection]);

  const changeKey = useCallback((key: string) => {
    saveApiKey(key);
    setStatus('unknown');
    setApiKey(key);
  }, []);

  return (
    <div className="tw-root">
      <KeyBar apiKey={apiKey} status={status} onChange={changeKey} />
      <main className="tw-graphiql">
        <GraphiQL
          fetcher={connection.fetcher}
          defaultQuery={defaultQuery}
          defaultEditorToolsVisibility={false}
        >
          <GraphiQL.Logo>threatwire</GraphiQL.Logo>
        </GraphiQL>
      </main>
    </div>
  );
}
