import { CombinedGraphQLErrors, ServerError } from '@apollo/client/errors';

export interface ApiProblem {
  message: string;
  code?: string;
  limit?: unknown;
}

interface FormattedError {
  message?: unknown;
  extensions?: { code?: unknown; limit?: unknown };
}

function fromFormatted(list: readonly FormattedError[]): ApiProblem[] {
  return list.map((e) => ({
    message: typeof e.message === 'string' ? e.message : 'Unknown error',
    code: typeof e.extensions?.code === 'string' ? e.extensions.code : undefined,
    limit: e.extensions?.limit,
  }));
}

/** Every error the API or the network can produce, as message + extensions.code. */
export function problemsOf(error: unknown): ApiProblem[] {
  if (!error) return [];
  if (CombinedGraphQLErrors.is(error)) return fromFormatted(error.errors as FormattedError[]);
  if (ServerError.is(error)) {
    try {
      const body = JSON.parse(error.bodyText) as { errors?: FormattedError[] };
      if (Array.isArray(body.errors) && body.errors.length > 0) return fromFormatted(body.errors);
    } catch {
      // not JSON: fall through to the status line
    }
    return [{ message: `The server answered HTTP ${error.statusCode}.`, code: `HTTP_${error.statusCode}` }];
  }
  if (error instanceof Error) {
    const message = /fetch|network/i.test(error.message)
      ? `Cannot reach the server (${error.message}).`
      : error.message;
    return [{ message }];
  }
  return [{ message: String(error) }];
}

export function isUnauthenticated(error: unknown): boolean {
  return problemsOf(error).some((p) => p.code === 'UNAUTHENTICATED');
}

/** Shown right where the failed action was; role="alert" so screen readers announce it. */
export function ErrorNote({ error, action }: { error: unknown; action?: string }) {
  const problems = problemsOf(error);
  if (problems.length === 0) return null;
  return (
    <div className="error-note" role="alert">
      {problems.map((p, i) => (
        <p key={i}>
          {action ? <strong>{action} failed: </strong> : null}
          {p.message}
          {p.code ? <code className="error-code">{p.code}</code> : null}
          {p.limit !== undefined ? <span className="error-limit"> (limit {String(p.limit)})</span> : null}
        </p>
      ))}
    </div>
  );
}
