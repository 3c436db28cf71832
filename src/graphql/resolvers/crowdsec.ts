import type { CrowdsecHealthReport } from '../../crowdsec/crowdsec-sync.js';
import type { AlertRecord, DecisionRecord } from '../../crowdsec/crowdsec-types.js';
import { isActive, toDate } from '../../crowdsec/crowdsec-types.js';
import { connection, decodeCursor, encodeCursor, pageSize } from '../pagination.js';
import type { Resolvers } from '../generated.js';

const decisionCursor = (d: DecisionRecord) => encodeCursor(toDate(d.createdAt), d.id);
const alertCursor = (a: AlertRecord) => encodeCursor(toDate(a.startAt), a.id);

export const crowdsecResolvers: Resolvers = {
  Query: {
    decisions: async (_p, { filter, first, after }, { services }) => {
      const page = await services.crowdsec.listDecisions(
        filter ?? {},
        pageSize(first),
        decodeCursor(after, 'bigint'),
      );
      return connection(page.rows, page.hasNextPage, page.totalCount, decisionCursor);
    },
    alerts: async (_p, { filter, first, after }, { services }) => {
      const f = filter ?? {};
      const page = await services.crowdsec.listAlerts(
        { ...f, since: f.since ? toDate(f.since) : null, until: f.until ? toDate(f.until) : null },
        pageSize(first),
        decodeCursor(after, 'bigint'),
      );
      return connection(page.rows, page.hasNextPage, page.totalCount, alertCursor);
    },
    alert: async (_p, { id }, { services }) => (await services.crowdsec.alert(id)) ?? null,
  },
  Mutation: {
    syncCrowdsec: (_p, _a, { services }) => services.crowdsec.syncNow(),
    banIp: (_p, args, { services }) => services.crowdsec.banIp(args),
    deleteDecision: (_p, { id }, { services }) => services.crowdsec.deleteDecision(id),
  },
  Subscription: {
    decisionAdded: {
      subscribe: (_p, { filter }, { services }) => services.crowdsec.subscribeDecisions('added', filter),
      resolve: (d: DecisionRecord) => d,
    },
    decisionDeleted: {
      subscribe: (_p, { filter }, { services }) => services.crowdsec.subscribeDecisions('deleted', filter),
      resolve: (d: DecisionRecord) => d,
    },
    alertCreated: {
      subscribe: (_p, _a, { services }) => services.crowdsec.subscribeAlerts(),
      resolve: (a: AlertRecord) => a,
    },
  },
  Decision: {
    active: (d) => isActive(d),
  },
  Alert: {
    decisions: (a, _args, { services }) => services.crowdsec.decisionsOf(a),
  },
  Health: {
    // The report's own snapshot, so `crowdsec.status` and the overall status agree.
    crowdsec: (report, _a, { services }) =>
      (report.snapshots.crowdsec as CrowdsecHealthReport | undefined) ?? services.crowdsec.health(),
  },
};
