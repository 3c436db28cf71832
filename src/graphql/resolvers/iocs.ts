import type { EnrichmentRecord, IocRecord } from '../../iocs/ioc-record.js';
import { assertRole } from '../auth-directive.js';
import type { Resolvers } from '../generated.js';
import { decodeCursor, encodeCursor, pageSize } from '../pagination.js';

const MAX_DECISIONS = 100;

const iocCursor = (i: IocRecord) => encodeCursor(new Date(i.firstSeenAt), i.id);
const enrichmentCursor = (e: EnrichmentRecord) => encodeCursor(new Date(e.fetchedAt), e.id);

const edgesOf = <T>(rows: T[], cursorOf: (row: T) => string) =>
  rows.map((node) => ({ cursor: cursorOf(node), node }));
const pageInfoOf = <T>(page: { rows: T[]; hasNextPage: boolean }, cursorOf: (row: T) => string) => ({
  hasNextPage: page.hasNextPage,
  endCursor: page.rows.length > 0 ? cursorOf(page.rows[page.rows.length - 1]!) : null,
});

export const iocResolvers: Resolvers = {
  Query: {
    ioc: (_p, { value }, { services }) => services.iocs.get(value),
    lookupIoc: (_p, { value, refresh, debug }, context) => {
      if (refresh === true) assertRole(context, 'ANALYST', 'lookupIoc(refresh: true)');
      if (debug === true) assertRole(context, 'ANALYST', 'lookupIoc(debug: true)');
      return context.services.iocs.lookup(value, { refresh: refresh === true, debug: debug === true });
    },
    iocs: (_p, { filter, first, after }, { services }) =>
      services.iocs.list(filter ?? {}, pageSize(first), decodeCursor(after, 'uuid')),
  },
  Mutation: {
    enrichIoc: (_p, { value, debug }, { services }) =>
      services.iocs.lookup(value, { refresh: true, debug: debug === true }),
    watchIocs: (_p, { values }, { services }) => services.iocs.watch(values),
  },
  Subscription: {
    iocEnriched: {
      subscribe: (_p, { value }, { services }) => services.iocs.subscribe(value),
      resolve: (ioc: IocRecord) => ioc,
    },
  },
  Health: {
    sources: (_h, _a, { services }) => services.iocs.sourceHealth(),
  },
  Ioc: {
    geo: (ioc, _a, { services }) =>
      ioc.type === 'IPV4' || ioc.type === 'IPV6' ? services.geo.locate(ioc.value) : null,
    decisions: async (ioc, _a, { services }) =>
      ioc.type === 'IPV4' || ioc.type === 'IPV6'
        ? (
            await services.crowdsec.listDecisions(
              { activeOnly: true, value: ioc.value },
              MAX_DECISIONS,
              undefined,
            )
          ).rows
        : [],
    enrichments: (ioc, { first, after }, { services }) =>
      services.iocs.history(ioc.id, pageSize(first), decodeCursor(after, 'uuid')),
  },
  SourceResult: {
    raw: (s) => s.raw ?? null,
  },
  IocConnection: {
    edges: (page) => edgesOf(page.rows, iocCursor),
    pageInfo: (page) => pageInfoOf(page, iocCursor),
    totalCount: (page) => page.totalCount(),
  },
  EnrichmentConnection: {
    edges: (page) => edgesOf(page.rows, enrichmentCursor),
    pageInfo: (page) => pageInfoOf(page, enrichmentCursor),
    totalCount: (page) => page.totalCount(),
  },
};
