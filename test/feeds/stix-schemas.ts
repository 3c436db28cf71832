/**
 * The OASIS STIX 2.1 JSON schemas (test/fixtures/stix2.1, BSD-3-Clause, LICENSE beside
 * them), loaded into ajv's draft 2020-12 validator: `validateBundle` checks a whole
 * bundle (every object against its type's schema) and returns ajv's errors.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';

// ajv-formats is CommonJS: its plugin is the module itself and its `default`.
const addFormats = formats.default;

const ROOT = fileURLToPath(new URL('../fixtures/stix2.1/schemas', import.meta.url));
const BASE = 'http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas';

function load() {
  // The schemas' patterns escape characters (\\-) that unicode-mode expressions refuse.
  const ajv = new Ajv2020({ strict: false, allErrors: true, unicodeRegExp: false, logger: false });
  addFormats(ajv);
  for (const dir of readdirSync(ROOT)) {
    for (const file of readdirSync(join(ROOT, dir))) {
      const schema = JSON.parse(readFileSync(join(ROOT, dir, file), 'utf8')) as { $id?: string };
      // Every vendored schema carries its $id; one without would be addressed by its path.
      schema.$id ??= `${BASE}/${dir}/${file}`;
      ajv.addSchema(schema);
    }
  }
  return ajv;
}

const ajv = load();

export function validateStix(schemaPath: string, value: unknown) {
  const validate = ajv.getSchema(`${BASE}/${schemaPath}`);
  if (!validate) throw new Error(`no schema ${schemaPath}`);
  const ok = validate(value);
  return ok ? [] : (validate.errors ?? []);
}

export const validateBundle = (bundle: unknown) => validateStix('common/bundle.json', bundle);
