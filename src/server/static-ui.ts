import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';

export interface StaticUiOptions {
  /** Absolute path of web/dist (the caller resolves it with fromRoot('web', 'dist')). */
  distDir: string;
}

export const graphiqlPath = '/graphiql';
export const consoleAssetsPath = '/console';
/** The console's views: each path answers with the console page, so a view's URL can be bookmarked. */
export const consoleViewPaths = ['/', '/live', '/map', '/ioc', '/events', '/crowdsec', '/stats', '/admin'];

/**
 * The page only talks to its own origin. Monaco needs inline styles (it writes <style>
 * elements and style attributes at run time); its workers are files from this origin;
 * GraphiQL's and Monaco's fonts are inlined as data: URIs in the bundled CSS. CSP
 * Level 3 lets 'self' in connect-src match ws:/wss: on the same host (graphql-ws).
 */
const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self' data:",
  "img-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const securityHeaders: Record<string, string> = {
  'content-security-policy': contentSecurityPolicy,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/** esbuild names split chunks by content hash, so they never change; the rest keeps its name. */
function cacheControlFor(filePath: string): string {
  return /[\\/]chunks[\\/]/.test(filePath) ? 'public, max-age=31536000, immutable' : 'no-cache';
}

function sendMissingBuild(reply: FastifyReply, what: string): FastifyReply {
  return reply
    .code(503)
    .header('cache-control', 'no-store')
    .type('text/plain; charset=utf-8')
    .send(`The ${what} is not built: run \`npm run web:build\` on the server, then reload.\n`);
}

/**
 * Serves the bundled console (web/dist/console) at / and its view paths, and GraphiQL
 * (web/dist) at /graphiql. Both pages share the same strict headers.
 */
export async function registerStaticUi(app: FastifyInstance, opts: StaticUiOptions): Promise<void> {
  const indexFile = join(opts.distDir, 'index.html');
  if (!existsSync(indexFile)) {
    app.log.warn(
      { distDir: opts.distDir },
      'Web bundles missing: / and /graphiql answer 503 until `npm run web:build`',
    );
  }
  await registerConsole(app, join(opts.distDir, 'console'));

  // An encapsulated child context: the hooks and reply.sendFile below apply to the
  // GraphiQL routes only, never to /graphql or other plugins' routes.
  await app.register(async (ui) => {
    guardBuild(ui, indexFile, 'GraphiQL page');

    await ui.register(fastifyStatic, {
      root: opts.distDir,
      prefix: `${graphiqlPath}/`,
      index: ['index.html'],
      redirect: false,
      dotfiles: 'ignore',
      cacheControl: false,
      suppressWarning: true,
      setHeaders: (reply, filePath) => {
        reply.header('cache-control', cacheControlFor(filePath));
      },
    });

    // index.html uses absolute paths, so the slash-less URL can serve it directly.
    ui.get(graphiqlPath, (_request, reply) => reply.sendFile('index.html'));
  });
}

/**
 * Hooks of a static UI's routes: a clear answer while its build is missing (checked per
 * request, so a build made after start-up is picked up without a restart) and the
 * security headers on everything it serves.
 */
function guardBuild(ui: FastifyInstance, indexFile: string, what: string): void {
  ui.addHook('onRequest', async (_request, reply) => {
    if (!existsSync(indexFile)) return sendMissingBuild(reply, what);
  });
  ui.addHook('onSend', async (_request, reply, payload) => {
    reply.headers(securityHeaders);
    return payload;
  });
}

async function registerConsole(app: FastifyInstance, consoleDir: string): Promise<void> {
  const indexFile = join(consoleDir, 'index.html');
  await app.register(async (ui) => {
    guardBuild(ui, indexFile, 'console');
    await ui.register(fastifyStatic, {
      root: consoleDir,
      prefix: `${consoleAssetsPath}/`,
      index: false,
      redirect: false,
      dotfiles: 'ignore',
      cacheControl: false,
      suppressWarning: true,
      setHeaders: (reply, filePath) => {
        reply.header('cache-control', cacheControlFor(filePath));
      },
    });
    for (const path of consoleViewPaths) {
      ui.get(path, (_request, reply) => reply.header('cache-control', 'no-cache').sendFile('index.html'));
    }
  });
}
