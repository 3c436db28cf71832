/**
 * Query parameters of the feeds, each bounded; a bad or unknown one is BAD_USER_INPUT
 * naming it (`extensions.argument` in GraphQL terms; the routes answer 400 with it).
 */
import { badInput } from '../platform/errors.js';
import {
  IOC_TYPES,
  type BlocklistFormat,
  type BlocklistQuery,
  type BlocklistSource,
  type FeedIocType,
  type IocFeedQuery,
} from './feed-types.js';

export type RawParams = Record<string, unknown>;

export const DEFAULT_BLOCKLIST_MIN_SCORE = 75;
export const DEFAULT_IOC_MIN_SCORE = 50;
/** ipset names are at most 31 bytes; the swap set adds "-new". */
const SET_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,26}$/;
const DECISION_TYPE = /^[A-Za-z0-9_-]{1,64}$/;

function single(params: RawParams, name: string): string | undefined {
  const v = params[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw badInput(`${name} may be given once`, { argument: name });
  if (v.length > 256) throw badInput(`${name} is longer than 256 characters`, { argument: name, limit: 256 });
  return v;
}

function oneOf<T extends string>(params: RawParams, name: string, allowed: readonly T[], fallback: T): T {
  const v = single(params, name);
  if (v === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(v))
    throw badInput(`${name} must be one of ${allowed.join(', ')}`, { argument: name });
  return v as T;
}

function int(params: RawParams, name: string, min: number, max: number, fallback: number): number {
  const v = single(params, name);
  if (v === undefined) return fallback;
  if (!/^\d{1,3}$/.test(v) || Number(v) < min || Number(v) > max)
    throw badInput(`${name} must be an integer between ${min} and ${max}`, {
      argument: name,
      min,
      limit: max,
    });
  return Number(v);
}

function noOthers(params: RawParams, known: readonly string[]): void {
  for (const name of Object.keys(params)) {
    if (!known.includes(name))
      throw badInput(`unknown parameter ${name.slice(0, 64)}; this feed takes ${known.join(', ')}`, {
        argument: name.slice(0, 64),
      });
  }
}

export interface BlocklistParams extends BlocklistQuery {
  format: BlocklistFormat;
  setName: string;
}

export function blocklistParams(params: RawParams): BlocklistParams {
  noOthers(params, ['source', 'minScore', 'type', 'format', 'set', 'family']);
  const format = oneOf<BlocklistFormat>(params, 'format', ['plain', 'ipset', 'nft'], 'plain');
  const source = oneOf<BlocklistSource>(params, 'source', ['decisions', 'iocs', 'both'], 'both');
  const decisionType = single(params, 'type') ?? 'ban';
  if (!DECISION_TYPE.test(decisionType))
    throw badInput('type must be 1–64 letters, digits, "_" or "-"', { argument: 'type', limit: 64 });
  const setName = single(params, 'set') ?? 'threatwire';
  if (!SET_NAME.test(setName))
    throw badInput('set must start with a letter or "_" and hold at most 27 letters, digits or "_"', {
      argument: 'set',
      limit: 27,
    });
  const familyText = single(params, 'family');
  if (familyText !== undefined && familyText !== '4' && familyText !== '6')
    throw badInput('family must be 4 or 6', { argument: 'family' });
  return {
    format,
    source,
    minScore: int(params, 'minScore', 0, 100, DEFAULT_BLOCKLIST_MIN_SCORE),
    decisionType: decisionType.toLowerCase(),
    // An ipset set holds one family: IPv4 unless asked otherwise.
    family: familyText === '6' ? 6 : familyText === '4' || format === 'ipset' ? 4 : undefined,
    setName,
  };
}

export function iocFeedParams(params: RawParams, extra: readonly string[] = []): IocFeedQuery {
  noOthers(params, ['minScore', 'types', ...extra]);
  const typesText = single(params, 'types');
  const types: FeedIocType[] = [];
  if (typesText !== undefined) {
    for (const t of typesText.split(',')) {
      const upper = t.trim().toUpperCase();
      if (!(IOC_TYPES as readonly string[]).includes(upper))
        throw badInput(`types must be a comma-separated list of ${IOC_TYPES.join(', ')}`, {
          argument: 'types',
        });
      if (!types.includes(upper as FeedIocType)) types.push(upper as FeedIocType);
    }
  }
  return { minScore: int(params, 'minScore', 0, 100, DEFAULT_IOC_MIN_SCORE), types: types.sort() };
}

export function booleanParam(params: RawParams, name: string, fallback: boolean): boolean {
  return oneOf(params, name, ['true', 'false'], fallback ? 'true' : 'false') === 'true';
}
