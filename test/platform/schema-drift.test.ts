import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { diffShapes, expectedShape } from './schema-drift.js';
import { readDatabaseShape } from './schema-shape.js';
import { testPool } from '../helpers/test-pool.js';

/**
 * Guards the drift checker itself against features the current schema does not use
 * yet (relations, lists, mapped enum values, serials, sort orders, index methods,
 * operator classes): the SQL below is what `prisma migrate diff` emits for SCHEMA.
 */

const SCHEMA = `
datasource db {
  provider = "postgresql"
}
enum Level {
  LOW @map("low")
  HIGH
}
model Owner {
  id    Int    @id @default(autoincrement())
  items Item[]
  @@map("owners")
}
model Item {
  id        String   @id @default(dbgenerated("gen_random_uuid()")) @db.Uuid
  ownerId   Int      @map("owner_id")
  owner     Owner    @relation(fields: [ownerId], references: [id], onDelete: Cascade)
  parentId  String?  @db.Uuid
  parent    Item?    @relation("tree", fields: [parentId], references: [id], map: "item_parent")
  children  Item[]   @relation("tree")
  tags      String[] @default([])
  scores    Int[]
  level     Level    @default(LOW)
  amount    Decimal  @default(1.5) @db.Decimal(10, 2)
  big       BigInt   @default(-5)
  ratio     Float    @default(0.25)
  data      Json     @default("{}")
  ok        Boolean  @default(true)
  note      String   @default("it's")
  seenAt    DateTime @default(now())
  updatedAt DateTime @updatedAt
  @@unique([ownerId, note])
  @@index([seenAt(sort: Desc)])
  @@index([note], type: Hash)
  @@index([data(ops: JsonbPathOps)], type: Gin)
  @@map("items")
}
`;

const PRISMA_SQL = `
CREATE TYPE "Level" AS ENUM ('low', 'HIGH');
CREATE TABLE "owners" (
    "id" SERIAL NOT NULL,
    CONSTRAINT "owners_pkey" PRIMARY KEY ("id")
);
CREATE TABLE "items" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "owner_id" INTEGER NOT NULL,
    "parentId" UUID,
    "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "scores" INTEGER[],
    "level" "Level" NOT NULL DEFAULT 'low',
    "amount" DECIMAL(10,2) NOT NULL DEFAULT 1.5,
    "big" BIGINT NOT NULL DEFAULT -5,
    "ratio" DOUBLE PRECISION NOT NULL DEFAULT 0.25,
    "data" JSONB NOT NULL DEFAULT '{}',
    "ok" BOOLEAN NOT NULL DEFAULT true,
    "note" TEXT NOT NULL DEFAULT 'it''s',
    "seenAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    CONSTRAINT "items_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "items_seenAt_idx" ON "items"("seenAt" DESC);
CREATE INDEX "items_note_idx" ON "items" USING HASH ("note");
CREATE INDEX "items_data_idx" ON "items" USING GIN ("data" jsonb_path_ops);
CREATE UNIQUE INDEX "items_owner_id_note_key" ON "items"("owner_id", "note");
ALTER TABLE "items" ADD CONSTRAINT "items_owner_id_fkey" FOREIGN KEY ("owner_id") REFERENCES "owners"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "items" ADD CONSTRAINT "item_parent" FOREIGN KEY ("parentId") REFERENCES "items"("id") ON DELETE SET NULL ON UPDATE CASCADE;
`;

describe('schema drift checker', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  beforeAll(async () => {
    db = await createTestDatabase('drift_checker');
    pool = testPool(db.url, { max: 2 });
    await pool.query(PRISMA_SQL);
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  async function drift(sql?: string): Promise<string[]> {
    const client = await pool.connect();
    try {
      // Probe DDL is applied, read and rolled back, so every case starts from PRISMA_SQL.
      await client.query('BEGIN');
      if (sql) await client.query(sql);
      const actual = await readDatabaseShape(client);
      await client.query('ROLLBACK');
      return diffShapes(await expectedShape(SCHEMA, client), actual);
    } finally {
      client.release();
    }
  }

  it('finds no difference between the schema and the SQL Prisma would write for it', async () => {
    expect(await drift()).toEqual([]);
  });

  it.each([
    [
      'a wrong enum value',
      `ALTER TYPE "Level" RENAME VALUE 'low' TO 'LOW'`,
      /enum Level: values LOW,HIGH in the database, low,HIGH declared/,
    ],
    [
      'a dropped NOT NULL',
      `ALTER TABLE items ALTER COLUMN note DROP NOT NULL`,
      /column items\.note: nullable in the database, NOT NULL declared/,
    ],
    [
      'a changed default',
      `ALTER TABLE items ALTER COLUMN ratio SET DEFAULT 0.5`,
      /column items\.ratio: default 0\.5 in the database, 0\.25 declared/,
    ],
    [
      'a lost serial',
      `ALTER TABLE owners ALTER COLUMN id DROP DEFAULT`,
      /column owners\.id: default none in the database, <nextval/,
    ],
    [
      'a wrong FK action',
      `ALTER TABLE items DROP CONSTRAINT item_parent, ADD CONSTRAINT item_parent FOREIGN KEY ("parentId") REFERENCES items(id) ON DELETE CASCADE ON UPDATE CASCADE`,
      /foreign key item_parent: .*"onDelete":"Cascade"/,
    ],
    [
      'a sort order lost',
      `DROP INDEX "items_seenAt_idx"; CREATE INDEX "items_seenAt_idx" ON items("seenAt")`,
      /index items_seenAt_idx:/,
    ],
    [
      'a default opclass',
      `DROP INDEX items_data_idx; CREATE INDEX items_data_idx ON items USING GIN (data)`,
      /index items_data_idx:/,
    ],
    [
      'an extra column',
      `ALTER TABLE owners ADD COLUMN extra TEXT`,
      /column owners\.extra: in the database, not declared/,
    ],
    [
      'a missing unique index',
      `DROP INDEX items_owner_id_note_key`,
      /index items_owner_id_note_key: declared in schema\.prisma, missing/,
    ],
  ])('reports %s', async (_label, sql, expected) => {
    const problems = await drift(sql);
    expect(problems.join('\n')).toMatch(expected);
  });
});
