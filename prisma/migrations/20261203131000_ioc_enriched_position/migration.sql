-- The iocEnriched stream: an IOC's position moves forward each time its score, level or
-- categories change, taken as for the other streams (migration
-- 20261203130000_stream_positions): from a sequence, by a BEFORE trigger holding the
-- stream's transaction-level advisory lock (1953955842, 4), so positions are
-- commit-ordered. `score_changed_at` is when that happened (the resume window).
-- Existing IOCs with a score get positions in the order they were last enriched.

CREATE SEQUENCE "iocs_enriched_position_seq" AS BIGINT;
ALTER TABLE "iocs" ADD COLUMN "enriched_position" BIGINT NOT NULL DEFAULT 0;
ALTER TABLE "iocs" ADD COLUMN "score_changed_at" TIMESTAMPTZ(3);
UPDATE "iocs" i SET "enriched_position" = o.position, "score_changed_at" = i.last_enriched_at
  FROM (SELECT id, nextval('iocs_enriched_position_seq') AS position
          FROM (SELECT id FROM "iocs" WHERE risk_score IS NOT NULL ORDER BY last_enriched_at NULLS FIRST, id) s) o
 WHERE i.id = o.id;
CREATE INDEX "iocs_enriched_position_idx" ON "iocs"("enriched_position");

CREATE FUNCTION "iocs_take_enriched_position"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(1953955842, 4);
  NEW.enriched_position := nextval('iocs_enriched_position_seq');
  NEW.score_changed_at := now();
  RETURN NEW;
END $$;
CREATE TRIGGER "iocs_take_enriched_position" BEFORE UPDATE OF "risk_score", "risk_level", "categories" ON "iocs"
  FOR EACH ROW WHEN (OLD."risk_score" IS DISTINCT FROM NEW."risk_score"
                  OR OLD."risk_level" IS DISTINCT FROM NEW."risk_level"
                  OR OLD."categories" IS DISTINCT FROM NEW."categories")
  EXECUTE FUNCTION "iocs_take_enriched_position"();
