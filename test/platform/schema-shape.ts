import type pg from 'pg';

/**
 * A comparable description of a PostgreSQL schema, read from pg_catalog. Both the real
 * database (after migrations) and the model expected from schema.prisma are reduced to
 * this shape; schema-drift.ts compares the two.
 */

export interface ColumnShape {
  /** format_type() output, e.g. `character varying(100)`, `"Role"`, `text[]`. */
  type: string;
  notNull: boolean;
  /** pg_get_expr() of the default; `nextval(...)` for serial columns. */
  default: string | null;
}

export interface IndexShape {
  table: string;
  primary: boolean;
  unique: boolean;
  /** Column (or expression) per key part, plus ` DESC` and ` <opclass, no underscores>` when not default. */
  columns: string[];
  method: string;
  partial: boolean;
}

export type FkAction = 'NoAction' | 'Restrict' | 'Cascade' | 'SetNull' | 'SetDefault';

export interface ForeignKeyShape {
  table: string;
  columns: string[];
  refTable: string;
  refColumns: string[];
  onDelete: FkAction;
  onUpdate: FkAction;
}

export interface SchemaShape {
  enums: Record<string, string[]>;
  tables: Record<string, Record<string, ColumnShape>>;
  /** By index name; includes primary keys (whose index name is the constraint name). */
  indexes: Record<string, IndexShape>;
  foreignKeys: Record<string, ForeignKeyShape>;
  /** Tables whose expected columns could not be derived, with the reason. */
  unbuildable?: Record<string, string>;
}

/** Prisma's bookkeeping table is not part of the data model. */
const IGNORED_TABLES = ['_prisma_migrations'];

const ACTIONS: Record<string, FkAction> = {
  a: 'NoAction',
  r: 'Restrict',
  c: 'Cascade',
  n: 'SetNull',
  d: 'SetDefault',
};

export async function readColumns(
  client: pg.ClientBase,
  tableOid: number,
): Promise<Record<string, ColumnShape>> {
  const { rows } = await client.query<{
    name: string;
    type: string;
    not_null: boolean;
    default: string | null;
  }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
            pg_get_expr(d.adbin, d.adrelid) AS default
       FROM pg_attribute a
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [tableOid],
  );
  return Object.fromEntries(
    rows.map((r) => [r.name, { type: r.type, notNull: r.not_null, default: r.default }]),
  );
}

/**
 * Reads enums, tables, columns, indexes and foreign keys of one schema. Partitions are
 * skipped: they are created at run time (retention), not declared in schema.prisma.
 */
export async function readDatabaseShape(client: pg.ClientBase, schema = 'public'): Promise<SchemaShape> {
  const shape: SchemaShape = { enums: {}, tables: {}, indexes: {}, foreignKeys: {} };

  const enums = await client.query<{ name: string; labels: string[] }>(
    `SELECT t.typname AS name, array_agg(e.enumlabel ORDER BY e.enumsortorder)::text[] AS labels
       FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = $1 GROUP BY t.typname`,
    [schema],
  );
  for (const e of enums.rows) shape.enums[e.name] = e.labels;

  const tables = await client.query<{ oid: number; name: string }>(
    `SELECT c.oid, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relname <> ALL($2)`,
    [schema, IGNORED_TABLES],
  );
  for (const t of tables.rows) shape.tables[t.name] = await readColumns(client, t.oid);
  const oids = tables.rows.map((t) => t.oid);

  const indexes = await client.query<{
    name: string;
    table: string;
    primary: boolean;
    unique: boolean;
    method: string;
    partial: boolean;
    columns: string[];
  }>(
    `SELECT ic.relname AS name, tc.relname AS table, i.indisprimary AS primary, i.indisunique AS unique,
            am.amname AS method, i.indpred IS NOT NULL AS partial,
            ARRAY(
              SELECT COALESCE(
                       (SELECT attname FROM pg_attribute
                         WHERE attrelid = i.indrelid AND attnum = i.indkey[k.n - 1] AND attnum > 0),
                       pg_get_indexdef(i.indexrelid, k.n, true))
                     || CASE WHEN (i.indoption[k.n - 1] & 1) = 1 THEN ' DESC' ELSE '' END
                     -- opclass without underscores: Prisma spells jsonb_path_ops as JsonbPathOps
                     || CASE WHEN oc.opcdefault THEN '' ELSE ' ' || replace(oc.opcname, '_', '') END
                FROM generate_series(1, i.indnkeyatts) AS k(n)
                JOIN pg_opclass oc ON oc.oid = i.indclass[k.n - 1]
               ORDER BY k.n
            )::text[] AS columns
       FROM pg_index i
       JOIN pg_class ic ON ic.oid = i.indexrelid
       JOIN pg_class tc ON tc.oid = i.indrelid
       JOIN pg_am am ON am.oid = ic.relam
      WHERE i.indrelid = ANY($1::oid[])`,
    [oids],
  );
  for (const { name, ...idx } of indexes.rows) shape.indexes[name] = idx;

  const fks = await client.query<{
    name: string;
    table: string;
    columns: string[];
    ref_table: string;
    ref_columns: string[];
    on_delete: string;
    on_update: string;
  }>(
    `SELECT c.conname AS name, tc.relname AS table, rc.relname AS ref_table,
            ARRAY(SELECT attname FROM unnest(c.conkey) WITH ORDINALITY k(n, o)
                    JOIN pg_attribute ON attrelid = c.conrelid AND attnum = k.n ORDER BY k.o)::text[] AS columns,
            ARRAY(SELECT attname FROM unnest(c.confkey) WITH ORDINALITY k(n, o)
                    JOIN pg_attribute ON attrelid = c.confrelid AND attnum = k.n ORDER BY k.o)::text[] AS ref_columns,
            c.confdeltype AS on_delete, c.confupdtype AS on_update
       FROM pg_constraint c
       JOIN pg_class tc ON tc.oid = c.conrelid
       JOIN pg_class rc ON rc.oid = c.confrelid
      WHERE c.contype = 'f' AND c.conrelid = ANY($1::oid[])`,
    [oids],
  );
  for (const fk of fks.rows) {
    shape.foreignKeys[fk.name] = {
      table: fk.table,
      columns: fk.columns,
      refTable: fk.ref_table,
      refColumns: fk.ref_columns,
      onDelete: ACTIONS[fk.on_delete] ?? 'NoAction',
      onUpdate: ACTIONS[fk.on_update] ?? 'NoAction',
    };
  }
  return shape;
}
