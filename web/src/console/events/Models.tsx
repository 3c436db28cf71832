import { useMutation, useQuery } from '@apollo/client/react';
import { ErrorNote } from '../errors';
import { fmtTime } from '../ui';
import { can, useViewer } from '../viewer';
import { ModelsDoc, RefitDoc, TrainDoc } from './docs';

const pct = (v?: number | null) => (v == null ? '–' : `${(v * 100).toFixed(1)} %`);

export function Models() {
  const viewer = useViewer();
  const { data, error, refetch } = useQuery(ModelsDoc);
  const [train, trainState] = useMutation(TrainDoc);
  const [refit, refitState] = useMutation(RefitDoc);
  const after = () => void refetch().catch(() => undefined);
  return (
    <section className="card">
      <h3>Classifier models</h3>
      {can(viewer, 'ADMIN') ? (
        <div className="filters">
          <button
            onClick={() =>
              void train()
                .then(after)
                .catch(() => undefined)
            }
          >
            Train category model now
          </button>
          <button
            onClick={() =>
              void refit()
                .then(after)
                .catch(() => undefined)
            }
          >
            Refit anomaly model now
          </button>
        </div>
      ) : null}
      <ErrorNote error={error} action="Listing models" />
      <ErrorNote error={trainState.error} action="Training" />
      <ErrorNote error={refitState.error} action="Refitting" />
      {data && data.classifierModels.length === 0 ? (
        <p className="empty">
          No model yet: events are classified by the rule table. Label events, then train.
        </p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Kind</th>
              <th>Version</th>
              <th>Created</th>
              <th>Trained on</th>
              <th>CV accuracy</th>
              <th>Rules accuracy</th>
              <th>Promoted</th>
              <th>Active</th>
            </tr>
          </thead>
          <tbody>
            {data?.classifierModels.map((m) => (
              <tr key={m.id}>
                <td>{m.kind}</td>
                <td>{m.version}</td>
                <td>{fmtTime(m.createdAt)}</td>
                <td>{m.trainedOn}</td>
                <td>{pct(m.cvAccuracy)}</td>
                <td>{pct(m.rulesAccuracy)}</td>
                <td>{m.promoted ? 'yes' : 'no'}</td>
                <td>{m.active ? 'yes' : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
