/** The look-alike rule of fuseScores (docs/scoring.md §6), one case per clause. */
import { describe, expect, it } from 'vitest';
import { fuseScores } from '../../src/iocs/scoring.js';
import { NOW, ok } from '../helpers/source-results.js';

const lookalike = { now: NOW, lookalikeOf: 'google.com' };

describe('fuseScores with lookalikeOf', () => {
  it('lifts a clean look-alike to 50, HIGH, with PHISHING', () => {
    const fused = fuseScores([ok('OTX', 0), ok('VIRUSTOTAL', 0)], lookalike);
    expect(fused).toMatchObject({ score: 50, level: 'HIGH', categories: ['PHISHING'] });
    expect(fuseScores([ok('OTX', 0), ok('VIRUSTOTAL', 0)], { now: NOW })).toMatchObject({
      score: 0,
      level: 'LOW',
      categories: [],
    });
  });

  it('scores a look-alike no source knows yet at 50 instead of null', () => {
    expect(fuseScores([ok('VIRUSTOTAL', null)], lookalike)).toMatchObject({ score: 50, level: 'HIGH' });
    expect(fuseScores([], lookalike)).toMatchObject({ score: 50, level: 'HIGH', categories: ['PHISHING'] });
  });

  it('never lowers a higher score: VirusTotal 80 alone stays 80', () => {
    expect(fuseScores([ok('VIRUSTOTAL', 80)], lookalike).score).toBe(80);
  });

  it('counts PHISHING as one vote beside the sources: two votes for MALWARE come first', () => {
    const fused = fuseScores(
      [
        ok('OTX', 60, { categories: ['MALWARE'] }),
        ok('VIRUSTOTAL', 60, { categories: ['MALWARE', 'PHISHING'] }),
      ],
      lookalike,
    );
    // MALWARE 2 votes, PHISHING 1 (VirusTotal) + 1 (look-alike) = 2: ties sort by name.
    expect(fused.categories).toEqual(['MALWARE', 'PHISHING']);
    const single = fuseScores([ok('OTX', 60, { categories: ['SCAN', 'SPAM'] })], lookalike);
    // SCAN 1, SPAM 1, PHISHING 1: all tied, by name.
    expect(single.categories).toEqual(['PHISHING', 'SCAN', 'SPAM']);
  });

  it('yields to known-benign evidence: the whitelist cap applies and the floor does not', () => {
    const fused = fuseScores(
      [ok('OTX', 0, { evidence: { whitelisted: true } }), ok('VIRUSTOTAL', 0)],
      lookalike,
    );
    expect(fused).toMatchObject({ score: 0, level: 'LOW', categories: [] });
  });
});
