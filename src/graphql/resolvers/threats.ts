import { countryInfo } from '../../geo/countries.js';
import type { ThreatEventRecord } from '../../threats/threat-types.js';
import { checkInt } from '../../platform/argument-checks.js';
import type { Resolvers } from '../generated.js';
import { decodeCursor, encodeCursor, pageSize } from '../pagination.js';

const MAX_MODELS = 100;

const toDate = (v: Date | string | null | undefined) => (v === null || v === undefined ? null : new Date(v));
const cursorOf = (e: ThreatEventRecord) => encodeCursor(new Date(e.occurredAt), e.id);

export const threatResolvers: Resolvers = {
  Query: {
    threatEvents: (_p, { filter, first, after }, { services }) =>
      services.threats.list(
        { ...filter, since: toDate(filter?.since), until: toDate(filter?.until) },
        pageSize(first),
        decodeCursor(after),
      ),
    threatEvent: (_p, { id }, { services }) => services.threats.get(id),
    threatMap: (_p, { since, minSeverity }, { services }) => services.threats.map(toDate(since), minSeverity),
    classifierModels: (_p, { kind, first }, { services }) =>
      services.classifier.list(kind ?? null, checkInt('first', first, 1, MAX_MODELS, 20)),
  },
  Mutation: {
    ingestThreatEvent: (_p, { input }, { services }) => services.threats.ingestOne(input),
    ingestThreatEvents: async (_p, { inputs }, { services }) => {
      const { accepted, duplicates, errors } = await services.threats.ingestMany(inputs);
      return { accepted, duplicates, errors };
    },
    labelThreatEvent: (_p, { id, category }, { services, principal }) =>
      services.threats.label(id, category, principal.keyId),
    trainClassifier: (_p, _a, { services }) => services.classifier.train(),
    refitAnomalyModel: (_p, _a, { services }) => services.classifier.refitAnomaly(),
  },
  Subscription: {
    threatDetected: {
      subscribe: (_p, args, { services }) => services.threats.subscribe(args),
      resolve: (event: ThreatEventRecord) => event,
    },
  },
  ThreatEventConnection: {
    edges: (page) => page.rows.map((node) => ({ cursor: cursorOf(node), node })),
    pageInfo: (page) => ({
      hasNextPage: page.hasNextPage,
      endCursor: page.rows.length > 0 ? cursorOf(page.rows[page.rows.length - 1]!) : null,
    }),
    totalCount: (page) => page.totalCount(),
  },
  ThreatEvent: {
    geo: (e) =>
      e.countryCode === null && e.latitude === null
        ? null
        : {
            countryCode: e.countryCode,
            countryName: e.countryCode ? countryInfo(e.countryCode).name : null,
            city: e.city,
            latitude: e.latitude,
            longitude: e.longitude,
            approximate: e.geoApproximate,
            asn: e.asn,
            asOrg: e.asOrg,
          },
    classification: (e) => ({
      category: e.category,
      confidence: e.categoryConfidence,
      anomalyScore: e.anomalyScore,
      isAnomaly: e.isAnomaly,
      method: e.classificationMethod,
      modelVersion: e.modelVersion,
    }),
  },
};
