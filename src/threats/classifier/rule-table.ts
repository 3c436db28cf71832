import type { ThreatCategory } from './types.js';

/**
 * The rule table: which words, ports and protocols point at which category.
 *
 * How a row is read (see rules.ts for the exact scoring):
 * - `keywords` are matched case-insensitively at the start of a word in the threat type,
 *   the description and the tags. A space inside a keyword also matches `-`, `_` or
 *   nothing, so `brute force` matches `brute-force`, `ssh_bruteforce` and `Brute Force`.
 *   Matching is by word prefix, so `scan` also matches `scanner` and `scanning`; keep
 *   keywords long enough not to hit unrelated words.
 * - A keyword found in the threat type gives `confidence`; found only in the description
 *   or tags it gives `confidence * TEXT_WEIGHT` (sensors put the real verdict in the type,
 *   descriptions quote payloads and mention other things).
 * - `ports` (destination port) and `protocols` only corroborate: they add `CORROBORATION`
 *   to a category that already has word evidence.
 * - `signaturePorts` corroborate too, and are also enough on their own: with no word
 *   evidence for any category, a signature port yields the category at
 *   `PORT_ONLY_CONFIDENCE` (an unnamed event to 22 is most likely SSH guessing). A port
 *   should be a signature port of one row at most.
 * - Rows are in priority order: on equal scores the earlier row wins, so specific
 *   categories (EXPLOIT, PHISHING) come before generic ones (SCAN).
 * Events with no evidence are OTHER at `NO_EVIDENCE_CONFIDENCE`.
 */
export interface RuleRow {
  category: ThreatCategory;
  confidence: number;
  keywords: readonly string[];
  ports?: readonly number[];
  signaturePorts?: readonly number[];
  protocols?: readonly string[];
}

export const TEXT_WEIGHT = 0.85;
export const CORROBORATION = 0.05;
export const PORT_ONLY_CONFIDENCE = 0.35;
export const NO_EVIDENCE_CONFIDENCE = 0.2;
export const MAX_RULE_CONFIDENCE = 0.99;

export const RULE_TABLE: readonly RuleRow[] = [
  {
    category: 'PHISHING',
    confidence: 0.9,
    keywords: ['phish', 'credential harvest', 'fake login', 'spoofed login', 'typosquat', 'lookalike domain'],
  },
  {
    category: 'EXPLOIT',
    confidence: 0.9,
    keywords: [
      'exploit',
      'sql injection',
      'sqli',
      'union select',
      'xss',
      'cross site scripting',
      'command injection',
      'rce',
      'remote code execution',
      'path traversal',
      'directory traversal',
      'lfi',
      'rfi',
      'file inclusion',
      'log4shell',
      'jndi',
      'shellshock',
      'cve',
      'buffer overflow',
      'deserialization',
      'ssrf',
      'webshell',
    ],
    ports: [80, 443, 8080, 8443, 445],
  },
  {
    category: 'MALWARE',
    confidence: 0.9,
    keywords: [
      'malware',
      'trojan',
      'ransomware',
      'virus',
      'worm',
      'backdoor',
      'dropper',
      'infostealer',
      'stealer',
      'keylogger',
      'emotet',
      'cobalt strike',
      'malicious file',
      'payload download',
    ],
  },
  {
    category: 'BOTNET',
    confidence: 0.88,
    keywords: ['botnet', 'c2', 'c&c', 'command and control', 'mirai', 'beacon', 'zombie', 'bot traffic'],
    ports: [23, 6667],
    signaturePorts: [2323],
  },
  {
    category: 'DDOS',
    confidence: 0.9,
    keywords: [
      'ddos',
      'dos attack',
      'denial of service',
      'flood',
      'syn flood',
      'amplification',
      'reflection attack',
      'volumetric',
    ],
    protocols: ['udp', 'icmp'],
  },
  {
    category: 'BRUTEFORCE',
    confidence: 0.9,
    keywords: [
      'brute', // also covers brute force, brute-force, bruteforce
      'password spray',
      'credential stuffing',
      'failed password',
      'failed login',
      'login failure',
      'authentication failure',
      'auth failure',
      'dictionary attack',
    ],
    ports: [110, 143, 389, 445],
    signaturePorts: [21, 22, 23, 1433, 3306, 3389, 5432, 5900],
  },
  {
    category: 'SPAM',
    confidence: 0.88,
    keywords: ['spam', 'junk mail', 'bulk mail', 'unsolicited email', 'open relay', 'mail relay'],
    signaturePorts: [25, 465, 587],
  },
  {
    category: 'PROXY',
    confidence: 0.85,
    keywords: [
      'proxy',
      'tor exit',
      'tor node',
      'anonymizer',
      'anonymiser',
      'vpn exit',
      'open socks',
      'socks',
    ],
    signaturePorts: [1080, 3128, 8118, 9050, 9001],
  },
  {
    category: 'CRAWLER',
    confidence: 0.8,
    keywords: ['crawl', 'spider', 'scraper', 'scraping', 'web bot', 'bad bot', 'user agent'],
    protocols: ['http', 'https'],
  },
  {
    category: 'SCAN',
    confidence: 0.85,
    keywords: [
      'scan',
      'port sweep',
      'ping sweep',
      'nmap',
      'masscan',
      'zmap',
      'probe',
      'probing',
      'recon', // also covers reconnaissance
      'enumeration',
    ],
    protocols: ['icmp'],
  },
];
