import { get_dmmf } from '@prisma/prisma-schema-wasm';
import { isDeepStrictEqual } from 'node:util';
import type pg from 'pg';
import {
  readColumns,
  type ColumnShape,
  type FkAction,
  type IndexShape,
  type SchemaShape,
} from './schema-shape.js';

/**
 * Derives the PostgreSQL schema that `prisma migrate diff` would produce from a
 * schema.prisma text (through Prisma's own parser, compiled to WebAssembly) and
 * compares it with a real database. Generic over models, so new models need no change
 * here. Types and default expressions are normalised by PostgreSQL itself: the expected
 * columns are created as temporary tables inside a rolled-back transaction.
 */

interface DmmfField {
  name: string;
  dbName?: string | null;
  kind: 'scalar' | 'enum' | 'object' | 'unsupported';
  type: string;
  isList: boolean;
  isRequired: boolean;
  isUpdatedAt: boolean;
  nativeType?: [string, string[]] | null;
  default?: unknown;
  relationFromFields?: string[];
  relationToFields?: string[];
  relationOnDelete?: FkAction;
  relationOnUpdate?: FkAction;
}
interface DmmfModel {
  name: string;
  dbName: string | null;
  fields: DmmfField[];
}
interface DmmfIndex {
  model: string;
  type: 'id' | 'unique' | 'normal' | 'fulltext';
  dbName?: string | null;
  algorithm?: string;
  fields: { name: string; sortOrder?: 'asc' | 'desc'; operatorClass?: unknown }[];
}
interface Datamodel {
  enums: { name: string; dbName: string | null; values: { name: string; dbName: string | null }[] }[];
  models: DmmfModel[];
  indexes: DmmfIndex[];
}

const PG_MAX_IDENTIFIER = 63;
const DEFAULT_SQL_TYPE: Record<string, string> = {
  String: 'TEXT',
  Boolean: 'BOOLEAN',
  Int: 'INTEGER',
  BigInt: 'BIGINT',
  Float: 'DOUBLE PRECISION',
  Decimal: 'DECIMAL(65,30)',
  DateTime: 'TIMESTAMP(3)',
  Json: 'JSONB',
  Bytes: 'BYTEA',
};
const NATIVE_SPELLING: Record<string, string> = {
  DoublePrecision: 'DOUBLE PRECISION',
  VarBit: 'BIT VARYING',
};
const NUMERIC = new Set(['Int', 'BigInt', 'Float', 'Decimal']);
/** Defaults Prisma computes in the client; they leave no DEFAULT in the database. */
const CLIENT_SIDE_DEFAULTS = new Set(['uuid', 'cuid', 'nanoid', 'ulid']);
/** Markers for defaults compared by pattern rather than by text. */
const SERIAL = '<nextval of a sequence>';
const ANY_DEFAULT = '<some database default>';

export function parseDatamodel(schema: string): Datamodel {
  const dmmf = JSON.parse(get_dmmf(JSON.stringify({ prismaSchema: schema }))) as { datamodel: Datamodel };
  return dmmf.datamodel;
}

// Prisma's default constraint names (psl ConstraintNames), truncated to PostgreSQL's limit.
const truncate = (s: string, max: number) => (s.length >= max ? s.slice(0, max) : s);
export const primaryKeyName = (table: string) => truncate(table, PG_MAX_IDENTIFIER - 5) + '_pkey';
export const indexName = (table: string, columns: string[], suffix: '_key' | '_idx') =>
  truncate(`${table}_${columns.join('_')}`, PG_MAX_IDENTIFIER - suffix.length) + suffix;
export const foreignKeyName = (table: string, columns: string[]) =>
  truncate(`${table}_${columns.join('_')}`, PG_MAX_IDENTIFIER - 5) + '_fkey';

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;
const quoteLiteral = (value: string) => `'${value.replace(/'/g, "''")}'`;

export async function expectedShape(schema: string, client: pg.ClientBase): Promise<SchemaShape> {
  const dm = parseDatamodel(schema);
  const shape: SchemaShape = { enums: {}, tables: {}, indexes: {}, foreignKeys: {} };
  const enumDbName = new Map(dm.enums.map((e) => [e.name, e.dbName ?? e.name]));
  const enumValue = new Map(
    dm.enums.map((e) => [e.name, new Map(e.values.map((v) => [v.name, v.dbName ?? v.name]))]),
  );
  for (const e of dm.enums) shape.enums[e.dbName ?? e.name] = e.values.map((v) => v.dbName ?? v.name);

  const table = (m: DmmfModel) => m.dbName ?? m.name;
  const models = new Map(dm.models.map((m) => [m.name, m]));
  const column = (m: DmmfModel, field: string) => {
    const f = m.fields.find((x) => x.name === field);
    return f?.dbName ?? field;
  };

  const sqlType = (f: DmmfField): string => {
    const base =
      f.kind === 'enum'
        ? quoteIdent(enumDbName.get(f.type) ?? f.type)
        : f.nativeType
          ? (NATIVE_SPELLING[f.nativeType[0]] ?? f.nativeType[0].toUpperCase()) +
            (f.nativeType[1].length ? `(${f.nativeType[1].join(',')})` : '')
          : (DEFAULT_SQL_TYPE[f.type] ?? f.type);
    return f.isList ? `${base}[]` : base;
  };
  const literal = (f: DmmfField, value: unknown): string => {
    if (f.kind === 'enum' && typeof value === 'string')
      return quoteLiteral(enumValue.get(f.type)?.get(value) ?? value);
    if (typeof value === 'boolean') return String(value);
    if (NUMERIC.has(f.type) && (typeof value === 'number' || typeof value === 'string')) return String(value);
    return quoteLiteral(typeof value === 'string' ? value : JSON.stringify(value));
  };
  const defaultSql = (f: DmmfField): string | undefined => {
    const d = f.default;
    if (d === undefined || d === null) return undefined;
    if (Array.isArray(d)) return `ARRAY[${d.map((v) => literal(f, v)).join(', ')}]::${sqlType(f)}`;
    if (typeof d === 'object' && 'name' in d) {
      const fn = d as { name: string; args: unknown[] };
      if (fn.name === 'now') return 'CURRENT_TIMESTAMP';
      if (fn.name === 'autoincrement') return SERIAL;
      if (fn.name === 'dbgenerated') return typeof fn.args[0] === 'string' ? fn.args[0] : ANY_DEFAULT;
      if (CLIENT_SIDE_DEFAULTS.has(fn.name)) return undefined;
      throw new Error(`schema-drift: unknown default function ${fn.name}() on ${f.name}`);
    }
    return literal(f, d);
  };

  await client.query('BEGIN');
  try {
    for (const [i, m] of dm.models.entries()) {
      const scalars = m.fields.filter((f) => f.kind !== 'object');
      const markers = new Map<string, string>();
      const defs = scalars.map((f) => {
        const name = f.dbName ?? f.name;
        const def = defaultSql(f);
        if (def === SERIAL || def === ANY_DEFAULT) markers.set(name, def);
        const notNull = f.isRequired && !f.isList ? ' NOT NULL' : ''; // Prisma's lists are nullable
        const withDefault = def && !markers.has(name) ? ` DEFAULT ${def}` : '';
        return `${quoteIdent(name)} ${sqlType(f)}${notNull}${withDefault}`;
      });
      const temp = `tw_expected_${i}`;
      await client.query(`SAVEPOINT s${i}`);
      try {
        await client.query(`CREATE TEMP TABLE ${temp} (${defs.join(', ')})`);
        const { rows } = await client.query<{ oid: number }>(`SELECT '${temp}'::regclass::oid AS oid`);
        const columns = await readColumns(client, rows[0]?.oid ?? 0);
        for (const [name, marker] of markers) if (columns[name]) columns[name].default = marker;
        shape.tables[table(m)] = columns;
      } catch (err) {
        // E.g. an enum type the migrations never created: record the table as unbuildable.
        await client.query(`ROLLBACK TO SAVEPOINT s${i}`);
        shape.tables[table(m)] = {};
        (shape.unbuildable ??= {})[table(m)] = (err as Error).message;
      }
      for (const f of m.fields) {
        if (f.kind !== 'object' || !f.relationFromFields?.length) continue;
        const target = models.get(f.type);
        if (!target) continue;
        const columns = f.relationFromFields.map((c) => column(m, c));
        const required = f.relationFromFields.every((c) => m.fields.find((x) => x.name === c)?.isRequired);
        const name = relationMapName(schema, m.name, f.name) ?? foreignKeyName(table(m), columns);
        shape.foreignKeys[name] = {
          table: table(m),
          columns,
          refTable: table(target),
          refColumns: (f.relationToFields ?? []).map((c) => column(target, c)),
          onDelete: f.relationOnDelete ?? (required ? 'Restrict' : 'SetNull'),
          onUpdate: f.relationOnUpdate ?? 'Cascade',
        };
      }
    }
  } finally {
    await client.query('ROLLBACK');
  }

  for (const idx of dm.indexes) {
    const m = models.get(idx.model);
    if (!m) continue;
    const cols = idx.fields.map((f) => column(m, f.name));
    const name =
      idx.dbName ??
      (idx.type === 'id'
        ? primaryKeyName(table(m))
        : indexName(table(m), cols, idx.type === 'unique' ? '_key' : '_idx'));
    shape.indexes[name] = {
      table: table(m),
      primary: idx.type === 'id',
      unique: idx.type !== 'normal',
      columns: idx.fields.map((f, k) => {
        // InetOps and raw("inet_ops") alike read as the database shape's "inetops".
        const opclass =
          typeof f.operatorClass === 'string' ? ' ' + f.operatorClass.toLowerCase().replace(/_/g, '') : '';
        return `${cols[k] ?? f.name}${f.sortOrder === 'desc' ? ' DESC' : ''}${opclass}`;
      }),
      method: (idx.algorithm ?? 'BTree').toLowerCase(),
      partial: false,
    } satisfies IndexShape;
  }
  return shape;
}

/** The DMMF omits `@relation(map: ...)`, so read it from the field's line. */
function relationMapName(schema: string, model: string, field: string): string | undefined {
  const block = new RegExp(`^model\\s+${model}\\s*\\{([\\s\\S]*?)^\\}`, 'm').exec(schema)?.[1] ?? '';
  const line = block.split('\n').find((l) => new RegExp(`^\\s*${field}\\s`).test(l)) ?? '';
  return /@relation\([^)]*\bmap:\s*"([^"]+)"/.exec(line)?.[1];
}

/** Human-readable differences, empty when the database matches the expectation. */
export function diffShapes(expected: SchemaShape, actual: SchemaShape): string[] {
  const out: string[] = [];
  const both = <T>(
    kind: string,
    e: Record<string, T>,
    a: Record<string, T>,
    each: (n: string, e: T, a: T) => void,
  ) => {
    for (const n of Object.keys(e))
      if (!(n in a)) out.push(`${kind}${n}: declared in schema.prisma, missing in the database`);
    for (const n of Object.keys(a))
      if (!(n in e)) out.push(`${kind}${n}: in the database, not declared in schema.prisma`);
    for (const n of Object.keys(e)) if (n in a) each(n, e[n] as T, a[n] as T);
  };
  const same = isDeepStrictEqual;
  // Sorted keys, so the two sides of a message line up whatever order they were built in.
  const show = (v: object) => JSON.stringify(v, Object.keys(v).sort());

  both('enum ', expected.enums, actual.enums, (n, e, a) => {
    if (!same(e, a)) out.push(`enum ${n}: values ${a.join(',')} in the database, ${e.join(',')} declared`);
  });
  both('table ', expected.tables, actual.tables, (t, e, a) => {
    const reason = expected.unbuildable?.[t];
    if (reason !== undefined)
      return void out.push(`table ${t}: cannot derive its expected columns (${reason})`);
    both(`column ${t}.`, e, a, (c, ec: ColumnShape, ac: ColumnShape) => {
      if (ec.type !== ac.type)
        out.push(`column ${t}.${c}: type ${ac.type} in the database, ${ec.type} declared`);
      if (ec.notNull !== ac.notNull)
        out.push(
          `column ${t}.${c}: ${ac.notNull ? 'NOT NULL' : 'nullable'} in the database, ${ec.notNull ? 'NOT NULL' : 'nullable'} declared`,
        );
      if (!defaultMatches(ec.default, ac.default))
        out.push(
          `column ${t}.${c}: default ${ac.default ?? 'none'} in the database, ${ec.default ?? 'none'} declared`,
        );
    });
  });
  both('index ', expected.indexes, actual.indexes, (n, e, a) => {
    if (!same(e, a)) out.push(`index ${n}: ${show(a)} in the database, ${show(e)} declared`);
  });
  both('foreign key ', expected.foreignKeys, actual.foreignKeys, (n, e, a) => {
    if (!same(e, a)) out.push(`foreign key ${n}: ${show(a)} in the database, ${show(e)} declared`);
  });
  return out;
}

function defaultMatches(expected: string | null, actual: string | null): boolean {
  if (expected === SERIAL) return actual !== null && /^nextval\('.+'::regclass\)$/.test(actual);
  if (expected === ANY_DEFAULT) return actual !== null;
  return expected === actual;
}
