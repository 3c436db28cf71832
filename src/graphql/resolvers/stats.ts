import { toDate } from '../../crowdsec/crowdsec-types.js';
import type { Resolvers } from '../generated.js';

const date = (d: Date | string | null | undefined) => (d ? toDate(d) : null);

export const statsResolvers: Resolvers = {
  Query: {
    statsSummary: (_p, { since, until }, { services }) => services.stats.summary(date(since), date(until)),
    countryStats: (_p, { since, until, limit }, { services }) =>
      services.stats.countryStats(date(since), limit, date(until)),
    topAttackers: (_p, { since, until, limit }, { services }) =>
      services.stats.topAttackers(date(since), limit, date(until)),
    topScenarios: (_p, { since, until, limit }, { services }) =>
      services.stats.topScenarios(date(since), limit, date(until)),
    timeSeries: (_p, { bucket, since, until }, { services }) =>
      services.stats.timeSeries(bucket, date(since), date(until)),
    threatStats: (_p, { since, until, groupBy, limit, previous }, { services }) =>
      services.stats.threatStats({ since: date(since), until: date(until), groupBy, limit, previous }),
    threatTimeSeries: (_p, { bucket, since, until, groupBy, limit, previous }, { services }) =>
      services.stats.threatTimeSeries({
        bucket,
        since: date(since),
        until: date(until),
        groupBy,
        limit,
        previous,
      }),
  },
};
