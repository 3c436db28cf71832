import { readFileSync } from 'node:fs';
import { spawnServer, type SpawnedServer } from '../../test/helpers/spawn-server.js';

export interface BenchServer {
  app: SpawnedServer;
  /** CPU time of the process so far (all threads, user + kernel) and the kernel part, seconds. */
  cpu(): { total: number; system: number };
  /** POSTs a GraphQL operation with the bench key; throws on GraphQL errors. */
  post(query: string, variables?: unknown): Promise<Record<string, unknown>>;
}

/**
 * Instances of the compiled server (as `npm start` runs it) on one database and Redis, as
 * a deployment scaled out on one host runs them; `add` starts more.
 */
export function serverGroup(env: Record<string, string>, key: string) {
  const servers: BenchServer[] = [];
  let stopping = false;
  const start = async (i: number) => {
    const app = await spawnServer(env, 60_000, 'build');
    void app.exited.then(({ code, signal }) => {
      if (!stopping) console.error(`server ${i} exited (${code ?? signal}):\n${app.output().slice(-4000)}`);
    });
    const pid = app.child.pid!;
    servers.push({
      app,
      cpu() {
        const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        return { total: (Number(f[11]) + Number(f[12])) / 100, system: Number(f[12]) / 100 };
      },
      async post(query, variables) {
        const res = await fetch(app.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body: JSON.stringify({ query, variables }),
        });
        const body = (await res.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
        if (body.errors) throw new Error(JSON.stringify(body.errors));
        return body.data!;
      },
    });
  };
  return {
    servers,
    async add(count: number): Promise<void> {
      for (let n = 0; n < count; n++) await start(servers.length);
    },
    async stop() {
      stopping = true;
      for (const s of servers) s.app.child.kill('SIGTERM');
      await Promise.all(servers.map((s) => s.app.exited));
    },
  };
}
