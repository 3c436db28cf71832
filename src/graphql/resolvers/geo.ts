import { GEOIP_MAX_BATCH } from '../../geo/geo-service.js';
import { badInput } from '../../platform/errors.js';
import type { Resolvers } from '../generated.js';

export const geoResolvers: Resolvers = {
  Query: {
    geoip: (_p, { ips }, { services }) => {
      if (ips.length > GEOIP_MAX_BATCH)
        throw badInput(`geoip takes at most ${GEOIP_MAX_BATCH} addresses per call`);
      return services.geo.lookupMany(ips);
    },
  },
};
