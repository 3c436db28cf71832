/** Shapes of the feeds module: the rows feeds read and the parameters they take. */

export const IOC_TYPES = ['IPV4', 'IPV6', 'DOMAIN', 'URL', 'MD5', 'SHA1', 'SHA256', 'SHA512'] as const;
export type FeedIocType = (typeof IOC_TYPES)[number];

/** One IOC as the CSV and STIX feeds serve it. */
export interface FeedIocRow {
  id: string;
  type: FeedIocType;
  value: string;
  riskScore: number | null;
  riskLevel: string | null;
  categories: string[];
  firstSeenAt: Date;
  lastEnrichedAt: Date | null;
  /** Sources whose latest result is OK, by name, sorted. */
  sources: string[];
  /** The analyst verdict in force, if any. */
  verdict: string | null;
  /** Threat events and CrowdSec alerts whose source is the IOC (STIX only). */
  sightings?: { count: number; firstAt: Date | null; lastAt: Date | null };
}

export type BlocklistSource = 'decisions' | 'iocs' | 'both';
export type BlocklistFormat = 'plain' | 'ipset' | 'nft';

export interface BlocklistQuery {
  source: BlocklistSource;
  /** IOCs at or above this fused score. */
  minScore: number;
  /** Decision type (lower-cased), e.g. "ban". */
  decisionType: string;
  /** Only this address family (ipset needs one per set); undefined: both. */
  family: 4 | 6 | undefined;
}

export interface IocFeedQuery {
  minScore: number;
  /** Empty: every type. */
  types: FeedIocType[];
}

/** The feed a request asked for, ready to stream: its ETag and, when sent, its body. */
/** What the request says about the body it wants. */
export interface FeedConditions {
  ifNoneMatch: string | undefined;
  /** HEAD: the headers only; the rows are not read. */
  headOnly?: boolean;
}

export interface FeedResponse {
  etag: string;
  contentType: string;
  /** The client already holds this ETag: answer 304. */
  notModified: boolean;
  /** Undefined when not modified or when only the headers were asked for (HEAD). */
  body: AsyncIterable<string> | undefined;
}
