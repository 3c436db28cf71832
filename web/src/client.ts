import { createGraphiQLFetcher } from '@graphiql/toolkit';
import type { Fetcher } from '@graphiql/toolkit';
import { parse } from 'graphql';
import type { DocumentNode } from 'graphql';
import { createClient } from 'graphql-ws';
import type { Client } from 'graphql-ws';
import { authCloseCodes, hasUnauthenticatedError } from './auth-status';
import type { AuthStatus } from './auth-status';

export interface ApiConnection {
  fetcher: Fetcher;
  /** Closes the WebSocket; a new key means a new connection (connectionParams are sent once). */
  dispose(): void;
}

/** Same origin as the page: the API and GraphiQL are served by one process on one port. */
export function endpoints(loc: Location = location): { http: string; ws: string } {
  const wsProtocol = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return { http: `${loc.origin}/graphql`, ws: `${wsProtocol}//${loc.host}/graphql` };
}

function isCloseEvent(value: unknown): value is { code: number } {
  return (
    typeof value === 'object' && value !== null && typeof (value as { code?: unknown }).code === 'number'
  );
}

/**
 * Watches HTTP answers for authentication failures without consuming the body that
 * GraphiQL reads (multipart responses for @defer are left alone).
 */
function authTrackingFetch(onAuth: (status: AuthStatus) => void): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    if (response.status === 401) {
      onAuth('rejected');
    } else if (response.headers.get('content-type')?.includes('json')) {
      const body: unknown = await response
        .clone()
        .json()
        .catch(() => undefined);
      if (hasUnauthenticatedError(body)) onAuth('rejected');
      else if (response.ok) onAuth('accepted');
    }
    return response;
  };
}

function createWsClient(url: string, apiKey: string, onAuth: (status: AuthStatus) => void): Client {
  return createClient({
    url,
    lazy: true,
    connectionParams: apiKey ? { apiKey } : {},
    retryAttempts: 3,
    // graphql-ws retries 4403 by default; a rejected key will not improve by retrying.
    shouldRetry: (event) => !(isCloseEvent(event) && authCloseCodes.has(event.code)),
    on: {
      connected: () => onAuth('accepted'),
      closed: (event) => {
        if (isCloseEvent(event) && authCloseCodes.has(event.code)) onAuth('rejected');
      },
    },
  });
}

/**
 * Turns a socket closed for a bad key into an UNAUTHENTICATED result in the response
 * pane; as a thrown error it would surface as an unhandled rejection in the page.
 */
function withAuthErrorsAsResults(client: Client): Client {
  return {
    ...client,
    subscribe: (payload, sink) =>
      client.subscribe(payload, {
        ...sink,
        error: (error: unknown) => {
          if (!isCloseEvent(error) || !authCloseCodes.has(error.code)) return sink.error(error);
          sink.next({
            errors: [
              {
                message: `The server closed the WebSocket (${error.code}): the API key was not accepted.`,
                extensions: { code: 'UNAUTHENTICATED', closeCode: error.code },
              },
            ],
          });
          sink.complete();
        },
      }),
  };
}

function parseOrUndefined(query: string): DocumentNode | undefined {
  try {
    return parse(query);
  } catch {
    return undefined;
  }
}

/**
 * The toolkit picks WebSocket or HTTP from the document GraphiQL hands over, which
 * GraphiQL re-parses only 100 ms after the last edit: pasting a subscription and
 * running it at once would send it over HTTP. Parsing the text being sent avoids that.
 */
function withCurrentDocument(fetcher: Fetcher): Fetcher {
  return (params, opts) =>
    fetcher(params, { ...opts, documentAST: parseOrUndefined(params.query) ?? opts?.documentAST });
}

export function connect(apiKey: string, onAuth: (status: AuthStatus) => void): ApiConnection {
  const urls = endpoints();
  const wsClient = createWsClient(urls.ws, apiKey, onAuth);
  const fetcher = withCurrentDocument(
    createGraphiQLFetcher({
      url: urls.http,
      wsClient: withAuthErrorsAsResults(wsClient),
      fetch: authTrackingFetch(onAuth),
      headers: apiKey ? { Authorization: `Bearer ${apiKey}` } : {},
    }),
  );
  return { fetcher, dispose: () => void wsClient.dispose() };
}
