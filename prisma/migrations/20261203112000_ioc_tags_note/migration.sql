-- Analyst tags and a free-text note on IOCs; the GIN index serves the tagsAny / tagsAll filters.
ALTER TABLE "iocs" ADD COLUMN "tags" TEXT[] DEFAULT ARRAY[]::TEXT[];
ALTER TABLE "iocs" ADD COLUMN "note" VARCHAR(1000);
CREATE INDEX "iocs_tags_idx" ON "iocs" USING GIN ("tags");
