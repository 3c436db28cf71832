import { badInput } from '../../platform/errors.js';
import type { Resolvers } from '../generated.js';

const MIN_HEARTBEAT_S = 1;
const MAX_HEARTBEAT_S = 3600;

export const systemResolvers: Resolvers = {
  Query: {
    health: (_p, _a, { services }) => services.health.report(),
  },
  Subscription: {
    heartbeat: {
      subscribe: (_p, { intervalSeconds }, { services }) => {
        const s = intervalSeconds ?? 10;
        if (!Number.isInteger(s) || s < MIN_HEARTBEAT_S || s > MAX_HEARTBEAT_S) {
          throw badInput(`intervalSeconds must be between ${MIN_HEARTBEAT_S} and ${MAX_HEARTBEAT_S}`);
        }
        return services.health.ticks(s * 1000);
      },
      resolve: (tick: Date) => tick,
    },
  },
};
