import { existsSync } from 'node:fs';
import { startApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './platform/logger.js';

// A .env file in the working directory is read once, before config is parsed.
if (existsSync('.env')) process.loadEnvFile('.env');

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`threatwire: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config);
  const app = await startApp(config, logger).catch((err: unknown) => {
    logger.fatal({ err }, 'start-up failed');
    process.stderr.write(`threatwire: start-up failed: ${(err as Error).message}\n`);
    process.exit(1);
  });

  const lines = [
    '',
    `  threatwire is listening`,
    `    GraphQL (HTTP)   ${app.url}`,
    `    GraphQL (WS)     ${app.wsUrl}`,
    `    Console          ${app.graphiqlUrl.replace(/graphiql$/, '')}`,
    `    GraphiQL         ${app.graphiqlUrl}`,
    ...Object.entries(app.modes).map(([k, v]) => `    ${k.padEnd(16)} ${v}`),
  ];
  if (app.generatedAdminKey) {
    lines.push(
      '',
      '  First start: an ADMIN API key was generated. It is shown ONCE; only its hash is stored:',
      '',
      `    ${app.generatedAdminKey}`,
      '',
      '  Use it as "Authorization: Bearer <key>", or paste it into the console or GraphiQL.',
    );
  }
  process.stdout.write(lines.join('\n') + '\n\n');

  let signals = 0;
  const shutdown = (signal: string) => {
    signals += 1;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timed out; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    timer.unref();
    app.stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

void main();
