import { describe } from 'vitest';
import { createAbuseIpdbAdapter } from '../../src/iocs/sources/abuseipdb.js';
import { createOtxAdapter } from '../../src/iocs/sources/otx.js';
import { createVirusTotalAdapter } from '../../src/iocs/sources/virustotal.js';
import { abuseIpdbProfile } from '../fakes/fake-abuseipdb.js';
import { otxProfile } from '../fakes/fake-otx.js';
import { virusTotalProfile } from '../fakes/fake-virustotal.js';
import { runSourceContract, type ContractSubject } from './source-contract.js';

const ALL_TYPES = ['IPV4', 'IPV6', 'DOMAIN', 'URL', 'MD5', 'SHA1', 'SHA256'] as const;

const SUBJECTS: ContractSubject[] = [
  {
    name: 'ABUSEIPDB',
    factory: createAbuseIpdbAdapter,
    profile: abuseIpdbProfile,
    supportedTypes: ['IPV4', 'IPV6'],
    unknownIsNull: false,
    hasWhitelist: true,
  },
  {
    name: 'OTX',
    factory: createOtxAdapter,
    profile: otxProfile,
    supportedTypes: ALL_TYPES,
    unknownIsNull: false,
    hasWhitelist: true,
  },
  {
    name: 'VIRUSTOTAL',
    factory: createVirusTotalAdapter,
    profile: virusTotalProfile,
    supportedTypes: ALL_TYPES,
    unknownIsNull: true,
    hasWhitelist: false,
  },
];

for (const subject of SUBJECTS)
  describe(`source contract: ${subject.name}`, () => runSourceContract(subject));
