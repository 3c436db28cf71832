/**
 * Tells Monaco where its web workers are. web/build.mjs bundles each worker as its
 * own classic script under workers/, next to main.js, so they load from this origin
 * (CSP `worker-src 'self'`) instead of a CDN or a blob: URL.
 */
const workerFiles: Record<string, string> = {
  json: 'json.worker.js',
  graphql: 'graphql.worker.js',
};

function workerUrl(label: string): URL {
  // Resolved against this bundle's own URL, not the page's, so a missing trailing
  // slash on /graphiql cannot send the browser to /workers/… .
  return new URL(`./workers/${workerFiles[label] ?? 'editor.worker.js'}`, import.meta.url);
}

(globalThis as { MonacoEnvironment?: unknown }).MonacoEnvironment = {
  getWorker(_workerId: string, label: string): Worker {
    return new Worker(workerUrl(label), { name: label });
  },
};
