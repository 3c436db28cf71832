import type { CurationChangeRecord, ScoreHistoryRecord } from '../../iocs/curation-types.js';
import type { EnrichmentRecord, IocRecord } from '../../iocs/ioc-record.js';
import type { GraphQLContext } from '../context.js';
import { assertRole } from '../auth-directive.js';
import type { Resolvers } from '../generated.js';
import { loaders } from '../loaders.js';
import { connectionResolvers, decodeCursor, pageSize } from '../pagination.js';
import { selectedFields } from '../selection.js';

export const iocResolvers: Resolvers = {
  Query: {
    ioc: (_p, { value }, { services }) => services.iocs.get(value),
    lookupIoc: (_p, { value, refresh, debug }, context) => {
      if (refresh === true) assertRole(context, 'ANALYST', 'lookupIoc(refresh: true)');
      if (debug === true) assertRole(context, 'ANALYST', 'lookupIoc(debug: true)');
      return context.services.iocs.lookup(value, { refresh: refresh === true, debug: debug === true });
    },
    lookupIocs: (_p, { values, refresh, debug }, context) => {
      if (refresh === true) assertRole(context, 'ANALYST', 'lookupIocs(refresh: true)');
      if (debug === true) assertRole(context, 'ANALYST', 'lookupIocs(debug: true)');
      return context.services.iocs.lookupMany(values, { refresh: refresh === true, debug: debug === true });
    },
    iocs: (_p, { filter, orderBy, first, after }, { services }, info) => {
      const asked = selectedFields(info, ['edges', 'node']);
      return services.iocs.list(
        filter ?? {},
        pageSize(first),
        decodeCursor(after, 'uuid'),
        asked.has('sources') || asked.has('scoreBreakdown'),
        orderBy ?? 'FIRST_SEEN',
      );
    },
    allowlist: (_p, _a, { services }) => services.curation.allowlist(),
    curationChanges: (_p, { subject, first, after }, { services }) =>
      services.curation.changes(subject, pageSize(first), decodeCursor(after, 'uuid')),
  },
  Mutation: {
    enrichIoc: (_p, { value, debug }, { services }) =>
      services.iocs.lookup(value, { refresh: true, debug: debug === true }),
    watchIocs: (_p, { values }, { services }) => services.iocs.watch(values),
    unwatchIocs: (_p, { values }, { services }) => services.iocs.unwatch(values),
    setIocVerdict: (_p, { value, verdict, note, expiresAt }, context) =>
      context.services.curation.setVerdict(actorOf(context), value, verdict, note, expiresAt),
    clearIocVerdict: (_p, { value }, context) =>
      context.services.curation.clearVerdict(actorOf(context), value),
    tagIoc: (_p, { value, tags }, context) => context.services.curation.tagIoc(actorOf(context), value, tags),
    untagIoc: (_p, { value, tags }, context) =>
      context.services.curation.untagIoc(actorOf(context), value, tags),
    setIocNote: (_p, { value, note }, context) =>
      context.services.curation.setIocNote(actorOf(context), value, note),
    addAllowlistEntry: (_p, { value, note }, context) =>
      context.services.curation.addAllowlistEntry(actorOf(context), value, note),
    removeAllowlistEntry: (_p, { value }, context) =>
      context.services.curation.removeAllowlistEntry(actorOf(context), value),
  },
  Subscription: {
    iocEnriched: {
      subscribe: (_p, { value, after }, { services }) => services.iocs.subscribe(value, after),
      resolve: (ioc: IocRecord) => ioc,
    },
  },
  Health: {
    sources: (_h, _a, { services }) => services.iocs.sourceHealth(),
  },
  Ioc: {
    cursor: (ioc, _a, { services }) => services.iocs.cursorOf(ioc),
    input: (ioc) => ioc.submitted?.input ?? null,
    refanged: (ioc) => ioc.submitted?.refanged ?? false,
    credentialsRemoved: (ioc) => ioc.submitted?.credentialsRemoved ?? false,
    normalizations: (ioc) => ioc.submitted?.normalizations ?? [],
    geo: (ioc, _a, { services }) =>
      ioc.type === 'IPV4' || ioc.type === 'IPV6' ? services.geo.locate(ioc.value) : null,
    decisions: (ioc, _a, context) =>
      ioc.type === 'IPV4' || ioc.type === 'IPV6' ? loaders(context).iocDecisions.load(ioc.value) : [],
    sightings: (ioc, _a, context) => loaders(context).sightings.load(ioc),
    history: (ioc, { first, after }, { services }) =>
      services.curation.scoreHistory(ioc.id, pageSize(first), decodeCursor(after, 'uuid')),
    enrichments: (ioc, { first, after }, { services }) =>
      services.iocs.history(ioc.id, pageSize(first), decodeCursor(after, 'uuid')),
  },
  SourceResult: {
    raw: (s) => s.raw ?? null,
  },
  SightingCount: {
    countCapped: (c) => c.capped,
  },
  IocConnection: connectionResolvers(
    (i: IocRecord) => i.sortKey ?? { at: new Date(i.firstSeenAt), id: i.id },
  ),
  ScoreChangeConnection: connectionResolvers((h: ScoreHistoryRecord) => ({ at: h.at, id: h.id })),
  CurationChangeConnection: connectionResolvers((c: CurationChangeRecord) => ({ at: c.at, id: c.id })),
  EnrichmentConnection: connectionResolvers((e: EnrichmentRecord) => ({
    at: new Date(e.fetchedAt),
    id: e.id,
  })),
};

/** Who is making a curation change: the API key behind the request. */
const actorOf = (context: GraphQLContext) => ({ id: context.principal.keyId, name: context.principal.name });
