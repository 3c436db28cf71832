import { toDate } from '../../crowdsec/crowdsec-types.js';
import type { Resolvers } from '../generated.js';

const date = (d: Date | string | null | undefined) => (d ? toDate(d) : null);

export const statsResolvers: Resolvers = {
  Query: {
    statsSummary: (_p, { since }, { services }) => services.stats.summary(date(since)),
    countryStats: (_p, { since, limit }, { services }) => services.stats.countryStats(date(since), limit),
    topAttackers: (_p, { since, limit }, { services }) => services.stats.topAttackers(date(since), limit),
    topScenarios: (_p, { since, limit }, { services }) => services.stats.topScenarios(date(since), limit),
    timeSeries: (_p, { bucket, since, until }, { services }) =>
      services.stats.timeSeries(bucket, date(since), date(until)),
  },
};
