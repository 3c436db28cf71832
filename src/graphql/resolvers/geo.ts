import type { Resolvers } from '../generated.js';

export const geoResolvers: Resolvers = {
  Query: {
    // The batch limit (GEOIP_MAX_BATCH) is enforced once, by the service.
    geoip: (_p, { ips }, { services }) => services.geo.lookupMany(ips),
  },
  Health: {
    // Opened once at start, so the list cannot differ from what the geoip check saw.
    geoipDatabases: (_report, _a, { services }) => services.geo.databases(),
  },
};
