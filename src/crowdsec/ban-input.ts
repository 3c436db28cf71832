/** Validation of `banIp` arguments: every refusal is BAD_USER_INPUT naming the argument. */
import ipaddr from 'ipaddr.js';
import { parseIp } from '../geo/ip-address.js';
import { badInput } from '../platform/errors.js';
import { unstorableText } from '../platform/storable-text.js';
import { formatGoDuration, tryParseGoDuration } from './go-duration.js';

export interface BanInput {
  value: string;
  duration: string;
  reason: string;
  scope?: string | null;
}

export interface ValidBan {
  value: string;
  /** Go duration the LAPI accepts (no days). */
  duration: string;
  reason: string;
  scope: 'Ip' | 'Range';
}

const MAX_MS = 10 * 365 * 86_400_000;
const MAX_REASON = 255;

/** Days are what people type (`7d`); LAPI 1.4 refuses them, so they become hours. */
function parseDuration(text: string): number | undefined {
  const days = /^(\d+)d$/.exec(text);
  return days ? Number(days[1]) * 86_400_000 : tryParseGoDuration(text);
}

export function validateBan(input: BanInput): ValidBan {
  const scopeText = (input.scope ?? 'Ip').trim().toLowerCase();
  if (scopeText !== 'ip' && scopeText !== 'range') {
    throw badInput(`scope must be "Ip" or "Range", got ${JSON.stringify(input.scope)}`, {
      argument: 'scope',
    });
  }
  const scope = scopeText === 'ip' ? 'Ip' : 'Range';
  const raw = input.value.trim();
  let value: string;
  if (scope === 'Ip') {
    const parsed = parseIp(raw);
    if (!parsed.ok) throw badInput(`value is not an IP address: ${parsed.error}`, { argument: 'value' });
    value = parsed.ip;
  } else {
    try {
      const [addr, bits] = ipaddr.parseCIDR(raw);
      value = `${addr.kind() === 'ipv4' ? ipaddr.IPv4.networkAddressFromCIDR(raw).toString() : ipaddr.IPv6.networkAddressFromCIDR(raw).toString()}/${bits}`;
    } catch {
      throw badInput(`value is not a CIDR range such as 192.0.2.0/24: ${JSON.stringify(raw)}`, {
        argument: 'value',
      });
    }
  }
  const ms = parseDuration(input.duration.trim());
  if (ms === undefined || !(ms > 0) || ms > MAX_MS) {
    throw badInput(
      `duration must be a positive Go duration up to 10 years, such as 4h, 90m or 7d; got ${JSON.stringify(input.duration)}`,
      {
        argument: 'duration',
      },
    );
  }
  const reason = input.reason.trim();
  if (!reason || reason.length > MAX_REASON) {
    throw badInput(`reason must be 1 to ${MAX_REASON} characters`, { argument: 'reason', limit: MAX_REASON });
  }
  // The reason comes back from the LAPI as the stored decision's scenario: refuse what
  // PostgreSQL cannot store before the ban is posted, not after.
  const unstorable = unstorableText(reason);
  if (unstorable) throw badInput(`reason ${unstorable}`, { argument: 'reason' });
  return { value, duration: formatGoDuration(ms), reason, scope };
}
