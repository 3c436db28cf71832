import { isPublicIp } from '../../src/geo/ip-address.js';

const KINDS = [
  {
    threatType: 'ssh_bruteforce',
    description: 'Failed password for root',
    port: 22,
    protocol: 'tcp',
    severity: 5,
  },
  {
    threatType: 'port_scan',
    description: 'SYN sweep over 1000 ports',
    port: 443,
    protocol: 'tcp',
    severity: 3,
  },
  {
    threatType: 'sql_injection',
    description: "GET /item?id=1' OR 1=1--",
    port: 80,
    protocol: 'http',
    severity: 8,
  },
  {
    threatType: 'ddos',
    description: 'SYN flood towards the web tier',
    port: 443,
    protocol: 'tcp',
    severity: 9,
  },
  {
    threatType: 'smtp_spam',
    description: 'Bulk mail from listed sender',
    port: 25,
    protocol: 'smtp',
    severity: 2,
  },
  {
    threatType: 'botnet_c2',
    description: 'Beacon to known C2 every 60s',
    port: 6667,
    protocol: 'tcp',
    severity: 8,
  },
] as const;

/**
 * `count` event inputs from public IPv4 sources, the same on every run (xorshift32 with a
 * fixed seed); the soak sends them round-robin with fresh externalIds and times.
 */
export function eventShapes(count: number): Record<string, unknown>[] {
  let state = 0x5eed1234;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
  const out: Record<string, unknown>[] = [];
  while (out.length < count) {
    const n = next();
    const ip = `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
    if (!isPublicIp(ip)) continue;
    const kind = KINDS[next() % KINDS.length]!;
    out.push({
      sourceIp: ip,
      destinationIp: `10.0.${(n >>> 8) & 255}.${n & 255}`,
      sourcePort: 32768 + (next() % 28000),
      destinationPort: kind.port,
      protocol: kind.protocol,
      threatType: kind.threatType,
      severity: Math.min(10, kind.severity + (next() % 2)),
      confidence: 0.5 + (next() % 50) / 100,
      description: kind.description,
      sensor: 'soak-sensor-01',
      tags: ['soak', kind.protocol],
      raw: { seq: out.length, path: '/soak', headers: { 'user-agent': 'soak/1' } },
    });
  }
  return out;
}
