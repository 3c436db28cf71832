import { describe, expect, it } from 'vitest';
import { countriesWithCentroids, countryInfo } from '../../src/geo/countries.js';

describe('country names and centroids', () => {
  it('names countries offline through ICU (Node has full ICU)', () => {
    // A non-English locale only resolves with full ICU data, not the small-icu build.
    expect(new Intl.DisplayNames(['de'], { type: 'region' }).of('US')).toBe('Vereinigte Staaten');
    expect(countryInfo('US').name).toBe('United States');
    expect(countryInfo('de').name).toBe('Germany');
    expect(countryInfo('XK').name).toBe('Kosovo');
  });

  it('has a centroid for every ISO 3166-1 country', () => {
    const codes = countriesWithCentroids();
    expect(codes.length).toBeGreaterThanOrEqual(249);
    for (const code of codes) {
      const { latitude, longitude } = countryInfo(code);
      expect(latitude, code).not.toBeNull();
      expect(Math.abs(latitude ?? 99)).toBeLessThanOrEqual(90);
      expect(Math.abs(longitude ?? 999)).toBeLessThanOrEqual(180);
    }
    // Spot checks: the point must fall inside the country, roughly.
    expect(countryInfo('US')).toMatchObject({ latitude: 38, longitude: -97 });
    expect(countryInfo('AU').latitude).toBeLessThan(-10);
    expect(countryInfo('JP').longitude).toBeGreaterThan(120);
  });

  it('returns nulls for codes it does not know, and caches per code', () => {
    const unknown = countryInfo('QQ');
    expect(unknown).toMatchObject({ code: 'QQ', latitude: null, longitude: null });
    expect(countryInfo('Q1').name).toBeNull();
    expect(countryInfo('FR')).toBe(countryInfo('FR'));
  });
});
