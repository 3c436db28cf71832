/**
 * The one shape every domain module has, so the composition root (src/app.ts) treats
 * them alike. A factory only builds: it opens no connection, subscribes to nothing and
 * starts no timer. `start()` does what must happen before the instance serves (load
 * state, follow the event bus), `stop()` undoes it, and the workers are run by the
 * composition root's `WorkerRunner`s, never by the module itself.
 */
import type { Config } from '../config.js';
import type { HealthCheck } from './health-service.js';
import type { Infrastructure } from './infrastructure.js';
import type { Logger } from './logger.js';
import type { Worker } from './worker-runner.js';

export interface AppModule<Services extends object = object> {
  /** What resolvers (through graphql/context.ts `Services`) and other modules call. */
  readonly services: Services;
  /** Background work, run only on instances that run workers (`WORKERS` not `off`). */
  readonly workers: readonly Worker[];
  /**
   * Upkeep of this instance's own state (key caches, sockets), run on every instance
   * whatever `WORKERS` says.
   */
  readonly instanceWorkers: readonly Worker[];
  /** Registered with the HealthService; a `required` one decides /readyz. */
  readonly healthChecks: readonly HealthCheck[];
  start(): Promise<void>;
  /** Safe to call whether or not `start()` ran or finished. */
  stop(): Promise<void>;
}

/** What every module factory receives; a domain adds what it needs from other modules. */
export interface ModuleDeps {
  readonly config: Config;
  readonly infra: Infrastructure;
  readonly logger: Logger;
}
