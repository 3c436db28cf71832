import { useQuery } from '@apollo/client/react';
import { lazy, Suspense, useEffect, useSyncExternalStore, type ComponentType } from 'react';
import { ConnectionContext, type Connection } from './connection';
import { ErrorNote, isUnauthenticated } from './errors';
import { graphql } from './gql';
import { href, navigate, useLocation, type View } from './router';
import { can, ViewerContext, type Viewer } from './viewer';
import type { Role } from './gql/graphql';

const ViewerQuery = graphql(`
  query ConsoleViewer {
    viewer {
      id
      name
      role
      prefix
    }
  }
`);

interface ViewDef {
  label: string;
  needs: Role;
  component: React.LazyExoticComponent<ComponentType>;
}

// One chunk per view: the map data and the chart library load only when needed.
const viewDefs: Record<View, ViewDef> = {
  live: { label: 'Live', needs: 'READER', component: lazy(() => import('./views/LiveView')) },
  map: { label: 'Map', needs: 'READER', component: lazy(() => import('./views/MapView')) },
  ioc: { label: 'IOC lookup', needs: 'READER', component: lazy(() => import('./views/IocView')) },
  events: { label: 'Events', needs: 'READER', component: lazy(() => import('./views/EventsView')) },
  crowdsec: { label: 'CrowdSec', needs: 'READER', component: lazy(() => import('./views/CrowdsecView')) },
  stats: { label: 'Statistics', needs: 'READER', component: lazy(() => import('./views/StatsView')) },
  admin: { label: 'Admin', needs: 'ADMIN', component: lazy(() => import('./views/AdminView')) },
};

function SocketBadge({ connection }: { connection: Connection }) {
  const state = useSyncExternalStore(connection.subscribeState, connection.state);
  const text = {
    idle: 'Live: idle',
    connecting: 'Live: connecting…',
    connected: 'Live: connected',
    retrying: 'Live: connection lost, reconnecting…',
    rejected: 'Live: key rejected',
  }[state.status];
  return (
    <span className={`socket socket-${state.status}`} data-testid="socket-status" role="status">
      {text}
      {state.status === 'connected' && state.reconnectedAt ? (
        <span className="muted">
          {' '}
          · reconnected at {state.reconnectedAt.toLocaleTimeString()} (the live feed replays the events of the
          gap)
        </span>
      ) : null}
    </span>
  );
}

export function Shell(props: { connection: Connection; onSignOut(reason?: unknown): void }) {
  const { view } = useLocation();
  const { data, error, loading } = useQuery(ViewerQuery, { fetchPolicy: 'network-only' });
  const rejected = Boolean(error && isUnauthenticated(error));
  const { onSignOut } = props;
  useEffect(() => {
    // Back to the key form, with the server's own words.
    if (rejected) onSignOut(error);
  }, [rejected, error, onSignOut]);

  if (rejected) return null;
  if (!data) {
    return (
      <main className="key-page">
        {loading ? <p>Checking the API key…</p> : null}
        <ErrorNote error={error} action="Reading the key's role" />
        {error ? <button onClick={() => props.onSignOut()}>Use another key</button> : null}
      </main>
    );
  }
  const viewer: Viewer = data.viewer;
  const def = viewDefs[view];
  const allowed = can(viewer, def.needs);
  const View = def.component;
  return (
    <ViewerContext.Provider value={viewer}>
      <header className="top">
        <span className="brand">threatwire</span>
        <nav>
          {(Object.entries(viewDefs) as [View, ViewDef][])
            .filter(([, d]) => can(viewer, d.needs))
            .map(([name, d]) => (
              <a
                key={name}
                href={href(name)}
                aria-current={name === view ? 'page' : undefined}
                onClick={(e) => {
                  if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
                  e.preventDefault();
                  navigate(href(name));
                }}
              >
                {d.label}
              </a>
            ))}
        </nav>
        <SocketBadge connection={props.connection} />
        <span className="who" data-testid="viewer">
          {viewer.name} · <strong>{viewer.role}</strong>
        </span>
        <a href="/graphiql" className="muted">
          GraphiQL
        </a>
        <button className="link" onClick={() => props.onSignOut()}>
          Change key
        </button>
      </header>
      <main className="view" data-view={view}>
        {allowed ? (
          <ConnectionContext.Provider value={props.connection}>
            <Suspense fallback={<p className="muted">Loading {def.label}…</p>}>
              <View />
            </Suspense>
          </ConnectionContext.Provider>
        ) : (
          <p className="empty">
            {def.label} needs an {def.needs} key; this key is {viewer.role}.
          </p>
        )}
      </main>
    </ViewerContext.Provider>
  );
}
