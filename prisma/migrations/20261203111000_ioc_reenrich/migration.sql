-- Re-enrichment of every IOC in use, not only watched ones: stale_at is when the IOC's
-- first result goes stale; the collector clears next_enrich_at of a due IOC nobody looked
-- up or sighted recently, and a lookup, watch or sighting sets it back from stale_at.
ALTER TABLE "iocs" ADD COLUMN "stale_at" TIMESTAMPTZ(3);
UPDATE "iocs" SET "stale_at" = "next_enrich_at";

-- A sighting also wakes a resting IOC.
CREATE OR REPLACE FUNCTION "iocs_sighted"("sighted" text[], "ats" timestamptz[]) RETURNS void
LANGUAGE sql AS $$
  WITH s AS (
    SELECT u.value, max(u.at) AS at FROM unnest(sighted, ats) AS u(value, at)
    WHERE u.value IS NOT NULL AND u.at IS NOT NULL GROUP BY u.value),
  l AS (
    SELECT i.id, s.at FROM iocs i JOIN s ON i.value = s.value
    WHERE i.last_sighted_at IS NULL OR i.last_sighted_at < s.at
    ORDER BY i.id FOR UPDATE OF i)
  UPDATE iocs SET last_sighted_at = GREATEST(iocs.last_sighted_at, l.at),
    next_enrich_at = COALESCE(iocs.next_enrich_at, iocs.stale_at)
  FROM l WHERE iocs.id = l.id
$$;
