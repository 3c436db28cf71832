import { useMutation, useQuery } from '@apollo/client/react';
import { useState } from 'react';
import { ErrorNote } from '../errors';
import { graphql } from '../gql';
import type { Role } from '../gql/graphql';
import { useParams } from '../router';
import { fmtTime } from '../ui';

const HealthDoc = graphql(`
  query AdminHealth {
    health {
      status
      version
      uptimeSeconds
      components {
        name
        status
        mode
        latencyMs
        detail
      }
      sources {
        name
        configured
        status
        remainingQuota
        exhaustedUntil
        lastError
        lastSuccessAt
      }
      geoipDatabases {
        kind
        databaseType
        builtAt
      }
    }
  }
`);

const KeysDoc = graphql(`
  query ApiKeys($includeRevoked: Boolean) {
    apiKeys(first: 100, includeRevoked: $includeRevoked) {
      totalCount
      edges {
        node {
          id
          name
          role
          prefix
          createdAt
          lastUsedAt
          revokedAt
        }
      }
    }
  }
`);

const CreateDoc = graphql(`
  mutation CreateApiKey($name: String!, $role: Role!) {
    createApiKey(name: $name, role: $role) {
      secret
      apiKey {
        id
        name
        role
        prefix
      }
    }
  }
`);

const RevokeDoc = graphql(`
  mutation RevokeApiKey($id: ID!) {
    revokeApiKey(id: $id)
  }
`);

const roles: Role[] = ['READER', 'INGESTOR', 'ANALYST', 'ADMIN'];

function Health() {
  const { data, error } = useQuery(HealthDoc, { pollInterval: 10_000 });
  const h = data?.health;
  return (
    <section className="card">
      <h3>
        Health{' '}
        {h ? (
          <span className="badge" data-testid="health-status">
            {h.status}
          </span>
        ) : null}
      </h3>
      <ErrorNote error={error} action="Reading health" />
      {h ? (
        <>
          <p className="muted">
            version {h.version} · up {Math.round(h.uptimeSeconds)} s
          </p>
          <table data-testid="health-components">
            <thead>
              <tr>
                <th>Component</th>
                <th>Status</th>
                <th>Mode</th>
                <th>Latency</th>
                <th>Detail</th>
              </tr>
            </thead>
            <tbody>
              {h.components.map((c) => (
                <tr key={c.name}>
                  <td>{c.name}</td>
                  <td>{c.status}</td>
                  <td>{c.mode}</td>
                  <td>{c.latencyMs != null ? `${c.latencyMs.toFixed(1)} ms` : ''}</td>
                  <td>{c.detail ?? ''}</td>
                </tr>
              ))}
              {h.sources.map((s) => (
                <tr key={s.name}>
                  <td>source {s.name}</td>
                  <td>{s.status}</td>
                  <td>{s.configured ? `quota left ${s.remainingQuota ?? '∞'}` : 'no API key set'}</td>
                  <td>{s.lastSuccessAt ? `ok ${fmtTime(s.lastSuccessAt)}` : ''}</td>
                  <td>
                    {s.exhaustedUntil
                      ? `rate-limited until ${fmtTime(s.exhaustedUntil)}`
                      : (s.lastError ?? '')}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className="muted">
            GeoIP:{' '}
            {h.geoipDatabases
              .map((g) => `${g.kind} ${g.databaseType}${g.builtAt ? ` (${g.builtAt.slice(0, 10)})` : ''}`)
              .join(', ') || 'none'}
          </p>
        </>
      ) : null}
    </section>
  );
}

function CreateKey({ onCreated }: { onCreated(): void }) {
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('READER');
  const [create, { data, error, loading }] = useMutation(CreateDoc);
  return (
    <form
      className="card filters"
      onSubmit={(e) => {
        e.preventDefault();
        void create({ variables: { name: name.trim(), role } })
          .then(onCreated)
          .catch(() => undefined);
      }}
    >
      <label>
        Name
        <input
          name="key-name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          placeholder="siem-forwarder"
        />
      </label>
      <label>
        Role
        <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
          {roles.map((r) => (
            <option key={r}>{r}</option>
          ))}
        </select>
      </label>
      <button type="submit" disabled={loading || !name.trim()}>
        Create key
      </button>
      <ErrorNote error={error} action="Creating the key" />
      {data ? (
        <div>
          <p className="warn">
            Copy the secret of “{data.createApiKey.apiKey.name}” now: it is shown only once.
          </p>
          <div className="secret" data-testid="new-secret">
            {data.createApiKey.secret}
          </div>
        </div>
      ) : null}
    </form>
  );
}

export default function AdminView() {
  const [params, setParams] = useParams();
  const includeRevoked = params.get('revoked') === '1';
  const keys = useQuery(KeysDoc, { variables: { includeRevoked } });
  const [revoke, revokeState] = useMutation(RevokeDoc);
  const refetch = () => void keys.refetch().catch(() => undefined);
  return (
    <section>
      <h2>Admin</h2>
      <Health />
      <h3>API keys</h3>
      <CreateKey onCreated={refetch} />
      <label className="inline">
        <input
          type="checkbox"
          checked={includeRevoked}
          onChange={(e) => setParams({ revoked: e.target.checked ? '1' : undefined })}
        />
        show revoked keys
      </label>
      <ErrorNote error={keys.error} action="Listing keys" />
      <ErrorNote error={revokeState.error} action="Revoking" />
      <table data-testid="api-keys">
        <thead>
          <tr>
            <th>Name</th>
            <th>Role</th>
            <th>Prefix</th>
            <th>Created</th>
            <th>Last used</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {keys.data?.apiKeys.edges.map(({ node }) => (
            <tr key={node.id}>
              <td>{node.name}</td>
              <td>{node.role}</td>
              <td className="mono">{node.prefix}…</td>
              <td>{fmtTime(node.createdAt)}</td>
              <td>{node.lastUsedAt ? fmtTime(node.lastUsedAt) : 'never'}</td>
              <td>
                {node.revokedAt ? (
                  `revoked ${fmtTime(node.revokedAt)}`
                ) : (
                  <button
                    className="danger"
                    onClick={() => {
                      if (confirm(`Revoke “${node.name}”? It stops working at once.`))
                        void revoke({ variables: { id: node.id } })
                          .then(refetch)
                          .catch(() => undefined);
                    }}
                  >
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
