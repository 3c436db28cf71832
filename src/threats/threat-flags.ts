/**
 * Whether a source IP is a known IOC or currently banned by CrowdSec, asked once per
 * ingest call for the distinct source IPs. Implementations must answer from PostgreSQL
 * or a cache only, never from an upstream service: this is on the ingest hot path.
 */
export interface ThreatFlags {
  knownIoc: boolean;
  banned: boolean;
}

export interface ThreatFlagLookup {
  lookup(ips: readonly string[]): Promise<ReadonlyMap<string, ThreatFlags>>;
}

const EMPTY: ReadonlyMap<string, ThreatFlags> = new Map();

/** Every flag false: for tests and deployments that want no lookup on the ingest path. */
export const NO_FLAGS: ThreatFlagLookup = {
  lookup: () => Promise.resolve(EMPTY),
};
