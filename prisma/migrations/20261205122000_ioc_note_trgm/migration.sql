-- A trigram index for the iocs list's noteContains filter (note ILIKE '%…%', with the
-- user's %, _ and \ escaped: src/iocs/ioc-repository.ts). pg_trgm ships with PostgreSQL
-- (contrib, a trusted extension; the embedded PostgreSQL has it too), but a managed
-- database may refuse it: then this migration only says so and the filter reads the
-- rows without the index, with the same answers.
DO $$
BEGIN
  CREATE EXTENSION IF NOT EXISTS pg_trgm;
  CREATE INDEX IF NOT EXISTS "iocs_note_trgm_idx" ON "iocs" USING GIN ("note" gin_trgm_ops);
EXCEPTION WHEN others THEN
  RAISE NOTICE 'iocs_note_trgm_idx not created (%): noteContains reads without an index', SQLERRM;
END $$;
