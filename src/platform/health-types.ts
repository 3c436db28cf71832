export type ComponentStatus = 'UP' | 'DOWN' | 'DISABLED';

export interface ComponentReport {
  name: string;
  status: ComponentStatus;
  mode: string;
  latencyMs: number | null;
  detail: string | null;
}

export interface HealthReport {
  status: 'OK' | 'DEGRADED' | 'DOWN';
  database: ComponentStatus;
  redis: ComponentStatus;
  geoip: ComponentStatus;
  components: ComponentReport[];
  version: string;
  uptimeSeconds: number;
  /**
   * What each component's check saw (e.g. CrowdSec's poll state), taken in the same
   * pass as the statuses above, so one report never mixes two moments.
   */
  snapshots: Readonly<Record<string, unknown>>;
}
