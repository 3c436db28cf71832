import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition } from '@apollo/client/utilities';
import { createClient, type Client } from 'graphql-ws';
import { createContext } from 'react';

/** Socket state as the shell shows it; "reconnected" is kept until the user dismisses it. */
export interface SocketState {
  status: 'idle' | 'connecting' | 'connected' | 'retrying' | 'rejected';
  /** Drops seen since the page opened. */
  drops: number;
  reconnectedAt?: Date;
  lastCloseCode?: number;
}

/** graphql-ws close codes the server uses for a missing or bad key. */
const authCloseCodes = new Set([4401, 4403]);

function closeCode(event: unknown): number | undefined {
  const code = (event as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

export interface Connection {
  apollo: ApolloClient;
  ws: Client;
  subscribeState(listener: () => void): () => void;
  state(): SocketState;
  dispose(): void;
}

/** The signed-in connection, for views that follow the socket's state (the live feed). */
export const ConnectionContext = createContext<Connection | null>(null);

export function connect(apiKey: string): Connection {
  const wsProtocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  let state: SocketState = { status: 'idle', drops: 0 };
  const listeners = new Set<() => void>();
  const set = (next: Partial<SocketState>): void => {
    state = { ...state, ...next };
    listeners.forEach((l) => l());
  };
  let everConnected = false;

  const ws = createClient({
    url: `${wsProtocol}//${location.host}/graphql`,
    connectionParams: { apiKey },
    lazy: true,
    // A dashboard left open must come back by itself after a restart or network blip.
    retryAttempts: Infinity,
    shouldRetry: (event) => !authCloseCodes.has(closeCode(event) ?? 0),
    retryWait: async (retries) => {
      const ms = Math.min(1000 * 2 ** retries, 15_000) * (0.5 + Math.random() / 2);
      await new Promise((resolve) => setTimeout(resolve, ms));
    },
    on: {
      connecting: () => set({ status: everConnected ? 'retrying' : 'connecting' }),
      connected: () => {
        if (everConnected) set({ status: 'connected', reconnectedAt: new Date() });
        else set({ status: 'connected' });
        everConnected = true;
      },
      closed: (event) => {
        const code = closeCode(event);
        if (code !== undefined && authCloseCodes.has(code)) set({ status: 'rejected', lastCloseCode: code });
        else if (state.status === 'connected')
          set({ status: 'retrying', drops: state.drops + 1, lastCloseCode: code });
      },
    },
  });

  const http = new HttpLink({ uri: '/graphql', headers: { authorization: `Bearer ${apiKey}` } });
  const link = ApolloLink.split(
    ({ query }) => {
      const def = getMainDefinition(query);
      return def.kind === 'OperationDefinition' && def.operation === 'subscription';
    },
    new GraphQLWsLink(ws),
    http,
  );

  const apollo = new ApolloClient({
    link,
    cache: new InMemoryCache(),
    defaultOptions: { watchQuery: { fetchPolicy: 'cache-and-network' } },
  });

  return {
    apollo,
    ws,
    state: () => state,
    subscribeState: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    dispose: () => {
      void ws.dispose();
      apollo.stop();
    },
  };
}
