import type { FieldNode, GraphQLResolveInfo } from 'graphql';
import { countryInfo } from '../../geo/countries.js';
import type { ThreatEventField, ThreatEventRecord } from '../../threats/threat-types.js';
import { checkInt } from '../../platform/argument-checks.js';
import { encodeCursor } from '../../platform/resumable-stream.js';
import type { Resolvers } from '../generated.js';
import { loaders } from '../loaders.js';
import { connectionResolvers, decodeCursor, pageSize } from '../pagination.js';
import { selectedFields } from '../selection.js';

const MAX_MODELS = 100;

const toDate = (v: Date | string | null | undefined) => (v === null || v === undefined ? null : new Date(v));

/** Record fields behind the ThreatEvent fields that are not record fields of the same name. */
const RECORD_FIELDS: Partial<Record<string, ThreatEventField[]>> = {
  cursor: ['streamPosition'],
  geo: ['countryCode', 'city', 'latitude', 'longitude', 'geoApproximate', 'asn', 'asOrg'],
  ioc: ['sourceIp'],
  classification: [
    'category',
    'categoryConfidence',
    'anomalyScore',
    'isAnomaly',
    'classificationMethod',
    'modelVersion',
  ],
};

/**
 * The fields asked by one `threatEvents` field of a parsed document. Apollo keeps parsed
 * documents, so a query sent again brings the same field node, and the set (and the SQL
 * built from it, threat-sql.ts) is worked out once per document rather than per request.
 */
const askedByNode = new WeakMap<FieldNode, ReadonlySet<ThreatEventField>>();

/** The record fields a `threatEvents` request reads: the list selects only their columns. */
function fieldsAsked(info: GraphQLResolveInfo): ReadonlySet<ThreatEventField> {
  // A field selected twice under one name merges several nodes: not worth keeping.
  const node = info.fieldNodes.length === 1 ? info.fieldNodes[0] : undefined;
  const known = node && askedByNode.get(node);
  if (known) return known;
  const out = new Set<ThreatEventField>();
  for (const f of selectedFields(info, ['edges', 'node']))
    for (const r of RECORD_FIELDS[f] ?? [f as ThreatEventField]) out.add(r);
  if (node) askedByNode.set(node, out);
  return out;
}

export const threatResolvers: Resolvers = {
  Query: {
    threatEvents: (_p, { filter, first, after }, { services }, info) =>
      services.threats.list(
        { ...filter, since: toDate(filter?.since), until: toDate(filter?.until) },
        pageSize(first),
        decodeCursor(after),
        fieldsAsked(info),
      ),
    threatEvent: (_p, { id }, { services }) => services.threats.get(id),
    threatMap: (_p, { since, until, minSeverity, categories }, { services }) =>
      services.threats.map(toDate(since), toDate(until), minSeverity, categories),
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
  ThreatEventConnection: connectionResolvers((e: ThreatEventRecord) => ({
    at: new Date(e.occurredAt),
    id: e.id,
  })),
  ThreatEvent: {
    cursor: (e) => encodeCursor('threatDetected', e.streamPosition),
    ioc: (e, _a, context) => loaders(context).iocByValue.load(e.sourceIp),
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
