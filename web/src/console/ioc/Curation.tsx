import { useMutation } from '@apollo/client/react';
import { useState } from 'react';
import { ErrorNote } from '../errors';
import { graphql } from '../gql';
import type { Verdict } from '../gql/graphql';
import { fmtTime } from '../ui';
import { can, useViewer } from '../viewer';

// Each mutation answers with the re-scored IOC; Apollo stores it under the IOC's id, so the
// card's gauge and score breakdown update from the answer itself.

// The score breakdown as the card shows it: every answer that re-scores an IOC asks for it.
export const IocScoreBreakdownFragment = graphql(`
  fragment IocScoreBreakdown on Ioc {
    scoreBreakdown {
      source
      status
      subScore
      weight
      reliability
      contribution
      note
      setBy {
        id
        name
      }
      expiresAt
    }
  }
`);

const SetVerdictDoc = graphql(`
  mutation SetIocVerdict($value: String!, $verdict: Verdict!, $note: String, $expiresAt: DateTime) {
    setIocVerdict(value: $value, verdict: $verdict, note: $note, expiresAt: $expiresAt) {
      id
      riskScore
      riskLevel
      categories
      verdict {
        verdict
        note
        setBy {
          id
          name
        }
        setAt
        expiresAt
        active
      }
      ...IocScoreBreakdown
    }
  }
`);

const ClearVerdictDoc = graphql(`
  mutation ClearIocVerdict($value: String!) {
    clearIocVerdict(value: $value) {
      id
      riskScore
      riskLevel
      categories
      verdict {
        verdict
      }
      ...IocScoreBreakdown
    }
  }
`);

const TagDoc = graphql(`
  mutation TagIoc($value: String!, $tags: [String!]!) {
    tagIoc(value: $value, tags: $tags) {
      id
      tags
    }
  }
`);

const UntagDoc = graphql(`
  mutation UntagIoc($value: String!, $tags: [String!]!) {
    untagIoc(value: $value, tags: $tags) {
      id
      tags
    }
  }
`);

const NoteDoc = graphql(`
  mutation SetIocNote($value: String!, $note: String) {
    setIocNote(value: $value, note: $note) {
      id
      note
    }
  }
`);

const verdicts: readonly Verdict[] = ['MALICIOUS', 'SUSPICIOUS', 'BENIGN'];

export interface CurationState {
  value: string;
  tags: readonly string[];
  note?: string | null;
  verdict?: {
    verdict: Verdict;
    note: string;
    setBy: { name: string };
    setAt: string;
    expiresAt?: string | null;
    active: boolean;
  } | null;
}

/** Tags as typed: separated by commas or spaces. */
const splitTags = (text: string): string[] => text.split(/[\s,]+/).filter(Boolean);

/** The analyst verdict, tags and note of one IOC; editable with an ANALYST or ADMIN key. */
export function Curation({ ioc }: { ioc: CurationState }) {
  const editor = can(useViewer(), 'ANALYST');
  const [verdict, setVerdict] = useState<Verdict>(ioc.verdict?.verdict ?? 'MALICIOUS');
  const [verdictNote, setVerdictNote] = useState('');
  const [expires, setExpires] = useState('');
  const [newTags, setNewTags] = useState('');
  const [note, setNote] = useState(ioc.note ?? '');
  const [saveVerdict, verdictState] = useMutation(SetVerdictDoc);
  const [clearVerdict, clearState] = useMutation(ClearVerdictDoc);
  const [tag, tagState] = useMutation(TagDoc);
  const [untag, untagState] = useMutation(UntagDoc);
  const [saveNote, noteState] = useMutation(NoteDoc);
  const v = ioc.verdict;
  const value = ioc.value;

  return (
    <div className="curation" data-testid="curation">
      <section aria-labelledby={`verdict-${ioc.value}`}>
        <h4 id={`verdict-${ioc.value}`}>Analyst verdict</h4>
        <p data-testid="ioc-verdict">
          {v ? (
            <>
              <strong>{v.verdict}</strong>
              {v.note ? ` — ${v.note}` : ''} · set by {v.setBy.name} at {fmtTime(v.setAt)} ·{' '}
              {v.expiresAt ? `expires ${fmtTime(v.expiresAt)}` : 'does not expire'}
              {v.active ? '' : ' · lapsed: no longer counts'}
            </>
          ) : (
            'none'
          )}
        </p>
        {editor ? (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              void saveVerdict({
                variables: {
                  value,
                  verdict,
                  note: verdictNote.trim() || null,
                  expiresAt: expires ? new Date(expires).toISOString() : null,
                },
              })
                .then(() => {
                  setVerdictNote('');
                  setExpires('');
                })
                .catch(() => undefined);
            }}
          >
            <label>
              Verdict
              <select name="verdict" value={verdict} onChange={(e) => setVerdict(e.target.value as Verdict)}>
                {verdicts.map((x) => (
                  <option key={x}>{x}</option>
                ))}
              </select>
            </label>
            <label className="block">
              Why (verdict note)
              <textarea
                name="verdict-note"
                rows={2}
                maxLength={1000}
                value={verdictNote}
                onChange={(e) => setVerdictNote(e.target.value)}
              />
            </label>
            <label>
              Expires (optional)
              <input
                type="datetime-local"
                name="verdict-expires"
                value={expires}
                onChange={(e) => setExpires(e.target.value)}
              />
            </label>
            <div className="filters">
              <button type="submit" disabled={verdictState.loading}>
                Set verdict
              </button>
              {v ? (
                <button
                  type="button"
                  disabled={clearState.loading}
                  onClick={() => void clearVerdict({ variables: { value } }).catch(() => undefined)}
                >
                  Clear verdict
                </button>
              ) : null}
            </div>
            <ErrorNote error={verdictState.error} action="Setting the verdict" />
            <ErrorNote error={clearState.error} action="Clearing the verdict" />
          </form>
        ) : null}
      </section>
      <section aria-labelledby={`tags-${ioc.value}`}>
        <h4 id={`tags-${ioc.value}`}>Tags</h4>
        {ioc.tags.length === 0 ? <p className="muted">none</p> : null}
        <ul className="tags" data-testid="ioc-tags">
          {ioc.tags.map((t) => (
            <li key={t}>
              <span className="badge">{t}</span>
              {editor ? (
                <button
                  type="button"
                  className="link"
                  aria-label={`Remove tag ${t}`}
                  disabled={untagState.loading}
                  onClick={() => void untag({ variables: { value, tags: [t] } }).catch(() => undefined)}
                >
                  ×
                </button>
              ) : null}
            </li>
          ))}
        </ul>
        {editor ? (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              const tags = splitTags(newTags);
              if (tags.length === 0) return;
              void tag({ variables: { value, tags } })
                .then(() => setNewTags(''))
                .catch(() => undefined);
            }}
          >
            <label>
              Add tags
              <input
                type="text"
                name="new-tags"
                value={newTags}
                placeholder="c2, campaign-x"
                onChange={(e) => setNewTags(e.target.value)}
              />
            </label>
            <div className="filters">
              <button type="submit" disabled={tagState.loading || splitTags(newTags).length === 0}>
                Add
              </button>
            </div>
            <ErrorNote error={tagState.error} action="Tagging" />
            <ErrorNote error={untagState.error} action="Removing the tag" />
          </form>
        ) : null}
      </section>
      <section aria-labelledby={`note-${ioc.value}`}>
        <h4 id={`note-${ioc.value}`}>Note</h4>
        <p data-testid="ioc-note">{ioc.note ?? 'none'}</p>
        {editor ? (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              void saveNote({ variables: { value, note: note.trim() || null } }).catch(() => undefined);
            }}
          >
            <label className="block">
              Analyst note
              <textarea
                name="ioc-note"
                rows={3}
                maxLength={1000}
                value={note}
                onChange={(e) => setNote(e.target.value)}
              />
            </label>
            <div className="filters">
              <button type="submit" disabled={noteState.loading || note.trim() === (ioc.note ?? '')}>
                Save note
              </button>
            </div>
            <ErrorNote error={noteState.error} action="Saving the note" />
          </form>
        ) : null}
      </section>
    </div>
  );
}
