import { geoNaturalEarth1, geoPath, type GeoPermissibleObjects } from 'd3-geo';
import { feature } from 'topojson-client';
import type { GeometryCollection, Topology } from 'topojson-specification';
import countriesTopology from 'world-atlas/countries-110m.json';
import countryCodes from 'tw:country-codes';

/** Natural Earth 1:110m countries, bundled: no tiles or fonts from the internet. */
export interface CountryShape {
  id: string;
  code?: string;
  name: string;
  d: string;
}

export const mapWidth = 960;
export const mapHeight = 500;

const topology = countriesTopology as unknown as Topology<{
  countries: GeometryCollection<{ name: string }>;
}>;
export const projection = geoNaturalEarth1().fitSize([mapWidth, mapHeight], { type: 'Sphere' });
const path = geoPath(projection);

let shapes: CountryShape[] | undefined;

export function countryShapes(): CountryShape[] {
  if (shapes) return shapes;
  const collection = feature(topology, topology.objects.countries);
  shapes = collection.features.map((f) => {
    const id = String(f.id ?? '');
    const entry = countryCodes[id];
    return {
      id,
      code: entry?.[0],
      name: entry?.[1] ?? f.properties?.name ?? id,
      d: path(f as GeoPermissibleObjects) ?? '',
    };
  });
  return shapes;
}

export const spherePath = (): string => path({ type: 'Sphere' }) ?? '';

export function project(longitude: number, latitude: number): [number, number] | undefined {
  const p = projection([longitude, latitude]);
  return p ? [p[0], p[1]] : undefined;
}
