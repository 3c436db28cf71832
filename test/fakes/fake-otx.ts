/** AlienVault OTX /api/v1/indicators/{section}/{value}/general, as OTX documents it. */
import type { FakeReply, VendorProfile } from './fake-upstream.js';

const ROUTE = /^\/api\/v1\/indicators\/(IPv4|IPv6|domain|hostname|url|file)\/([^/]+)\/general$/;

const general = (value: string, pulses: unknown[], validation: unknown[] = []): FakeReply => ({
  status: 200,
  body: {
    indicator: value,
    type_title: 'fixture',
    reputation: 0,
    country_code: 'US',
    asn: 'AS64500 Example Networks',
    validation,
    pulse_info: { count: pulses.length, pulses, references: [], related: {} },
    sections: ['general', 'reputation', 'geo'],
  },
});

const pulse = (name: string, tags: string[], families: string[]) => ({
  id: `pulse-${name}`,
  name,
  tags,
  malware_families: families.map((display_name) => ({ id: display_name, display_name, target: null })),
  attack_ids: [{ id: 'T1110', name: 'Brute Force', display_name: 'T1110 - Brute Force' }],
  TLP: 'white',
  adversary: '',
  modified: '2026-06-01T00:00:00.000',
});

export const otxProfile: VendorProfile = {
  name: 'OTX',
  keyHeader: 'x-otx-api-key',
  valueOf(url) {
    const segment = ROUTE.exec(url.pathname)?.[2];
    return segment === undefined ? undefined : decodeURIComponent(segment);
  },
  knownBad: (value) =>
    general(value, [
      pulse('SSH honeypot attackers', ['ssh', 'bruteforce'], ['Mirai']),
      pulse('IoT botnet C2', ['botnet', 'mirai'], ['Mirai']),
      pulse('Scanner list', ['scanner'], []),
      pulse('Weekly IOCs', ['malware'], []),
    ]),
  clean: (value) => general(value, []),
  // OTX answers any well-formed indicator; one it never saw simply has no pulses.
  unknown: (value) => general(value, []),
  whitelisted: (value) =>
    general(
      value,
      [pulse('Benign infrastructure seen in a sandbox', ['cdn'], [])],
      [{ source: 'whitelist', message: 'Whitelisted indicator', name: 'Known benign' }],
    ),
  wrongKey: { status: 403, body: { detail: 'Authentication credentials were not valid.' } },
  rateLimited: (retryAfter) => ({
    status: 429,
    headers: { 'retry-after': retryAfter },
    body: { detail: 'Request was throttled.' },
  }),
  serverError: { status: 504, body: { detail: 'Gateway timeout.' } },
};
