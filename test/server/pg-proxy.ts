import { startTcpGate } from '../helpers/tcp-gate.js';
import type { TestDatabase } from '../helpers/test-database.js';

/**
 * A loopback TCP proxy in front of a database: `cut` drops every connection and
 * refuses new ones (PostgreSQL "down"), `hold` stops forwarding (queries wait, as on a
 * frozen server) until `release`.
 */
export interface PgProxy {
  /** The database's URL rewritten to go through the proxy. */
  database: TestDatabase;
  cut(): Promise<void>;
  restore(): Promise<void>;
  hold(): void;
  release(): void;
  close(): Promise<void>;
}

export async function startPgProxy(db: TestDatabase): Promise<PgProxy> {
  const target = new URL(db.url);
  const gate = await startTcpGate(target.hostname, Number(target.port || 5432));
  const url = new URL(db.url);
  url.hostname = '127.0.0.1';
  url.port = String(gate.port);
  return {
    database: { url: url.toString(), drop: () => db.drop() },
    cut: () => gate.cut(),
    restore: () => gate.restore(),
    hold: () => gate.freeze(),
    release: () => void gate.restore(),
    close: () => gate.close(),
  };
}
