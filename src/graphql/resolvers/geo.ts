import type { Resolvers } from '../generated.js';

export const geoResolvers: Resolvers = {
  Query: {
    // The batch limit (GEOIP_MAX_BATCH) is enforced once, by the service.
    geoip: (_p, { ips }, { services }) => services.geo.lookupMany(ips),
  },
};
