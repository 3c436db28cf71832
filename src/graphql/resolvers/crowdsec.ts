import type { CrowdsecHealthReport } from '../../crowdsec/crowdsec-sync.js';
import type { AlertRecord, DecisionRecord } from '../../crowdsec/crowdsec-types.js';
import { isActive, toDate } from '../../crowdsec/crowdsec-types.js';
import { encodeCursor } from '../../platform/resumable-stream.js';
import { loaders } from '../loaders.js';
import { connectionResolvers, decodeCursor, pageSize } from '../pagination.js';
import type { Resolvers } from '../generated.js';

export const crowdsecResolvers: Resolvers = {
  Query: {
    decisions: (_p, { filter, first, after }, { services }) =>
      services.crowdsec.listDecisions(filter ?? {}, pageSize(first), decodeCursor(after, 'bigint')),
    alerts: (_p, { filter, first, after }, { services }) => {
      const f = filter ?? {};
      return services.crowdsec.listAlerts(
        { ...f, since: f.since ? toDate(f.since) : null, until: f.until ? toDate(f.until) : null },
        pageSize(first),
        decodeCursor(after, 'bigint'),
      );
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
      subscribe: (_p, { filter, after }, { services }) =>
        services.crowdsec.subscribeDecisions('added', filter, after),
      resolve: (d: DecisionRecord) => d,
    },
    decisionDeleted: {
      subscribe: (_p, { filter, after }, { services }) =>
        services.crowdsec.subscribeDecisions('deleted', filter, after),
      // The Decision's cursor is then its position in the decisionDeleted stream.
      resolve: (d: DecisionRecord): DecisionRecord & { deletedEvent: true } => ({ ...d, deletedEvent: true }),
    },
    alertCreated: {
      subscribe: (_p, { after }, { services }) => services.crowdsec.subscribeAlerts(after),
      resolve: (a: AlertRecord) => a,
    },
  },
  DecisionConnection: connectionResolvers((d: DecisionRecord) => ({ at: toDate(d.createdAt), id: d.id })),
  AlertConnection: connectionResolvers((a: AlertRecord) => ({ at: toDate(a.startAt), id: a.id })),
  Decision: {
    active: (d) => isActive(d),
    cursor: (d) =>
      'deletedEvent' in d && d.deletedPosition !== null
        ? encodeCursor('decisionDeleted', d.deletedPosition)
        : encodeCursor('decisionAdded', d.addedPosition),
  },
  Alert: {
    cursor: (a) => encodeCursor('alertCreated', a.streamPosition),
    decisions: (a, _args, context) => loaders(context).alertDecisions.load(a),
    ioc: (a, _args, context) => loaders(context).iocByValue.load(a.sourceIp ?? a.sourceValue),
  },
  Health: {
    // The report's own snapshot, so `crowdsec.status` and the overall status agree.
    crowdsec: (report, _a, { services }) =>
      (report.snapshots.crowdsec as CrowdsecHealthReport | undefined) ?? services.crowdsec.health(),
  },
};
