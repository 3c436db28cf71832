-- The iocs list pages newest first by (first_seen_at, id): without this index every page
-- sorted the whole table.
CREATE INDEX "iocs_first_seen_at_id_idx" ON "iocs"("first_seen_at" DESC, "id" DESC);
