/** Fresh, routable IOC values per type, so every test owns its data and passes alone. */
import { randomBytes } from 'node:crypto';
import { parseIoc } from '../../src/iocs/ioc-parse.js';
import type { IocType, ParsedIoc } from '../../src/iocs/ioc-types.js';

let counter = 0;
const next = (): number => ++counter + Math.floor(Math.random() * 1000) * 1000;
const hex = (chars: number): string => randomBytes(chars / 2).toString('hex');

const GENERATORS: Readonly<Record<IocType, () => string>> = {
  IPV4: () => {
    const n = next();
    return `45.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255 || 1}`;
  },
  IPV6: () => `2a00:1450:4001:${(next() & 0xffff).toString(16)}::${(next() & 0xffff).toString(16) || 1}`,
  // A sub-domain, so OTX's hostname section is exercised too (registrable domains use "domain").
  DOMAIN: () => (next() % 2 === 0 ? `bad-${next()}.example-threat.net` : `bad-${next()}.net`),
  URL: () => `http://evil-${next()}.com/login/verify.php?id=${next()}&next=%2Fhome`,
  MD5: () => hex(32),
  SHA1: () => hex(40),
  SHA256: () => hex(64),
  SHA512: () => hex(128),
};

export const freshIoc = (type: IocType): ParsedIoc => parseIoc(GENERATORS[type]());

/** Values of the type that must never leave the machine. */
export const NON_ROUTABLE: Readonly<Partial<Record<IocType, string>>> = {
  IPV4: '192.168.10.20',
  IPV6: 'fd00::1234',
  DOMAIN: 'www.example.org',
  URL: 'http://10.1.2.3/admin',
};
