-- IOC curation: fused-score history, analyst verdicts, the allowlist and the audit of
-- every verdict and allowlist change (docs/scoring.md §7).

-- The analyst verdict in force on an IOC ({verdict, note, setAt, expiresAt, setBy}) and
-- the allowlist entry that covered it when it was last scored.
ALTER TABLE "iocs" ADD COLUMN "verdict" JSONB;
ALTER TABLE "iocs" ADD COLUMN "allowlisted_by" JSONB;

-- One row per change of an IOC's fused score or level.
CREATE TABLE "ioc_score_history" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "ioc_id" UUID NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "score" SMALLINT,
    "level" "RiskLevel",
    "sources" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[],
    CONSTRAINT "ioc_score_history_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "ioc_score_history_ioc_id_fkey" FOREIGN KEY ("ioc_id") REFERENCES "iocs"("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX "ioc_score_history_ioc_id_at_id_idx" ON "ioc_score_history"("ioc_id", "at" DESC, "id" DESC);

-- Whole ranges an analyst vouches for: CIDR blocks and domain suffixes.
CREATE TABLE "allowlist_entries" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "kind" VARCHAR(8) NOT NULL,
    "value" VARCHAR(300) NOT NULL,
    "note" VARCHAR(1000) NOT NULL,
    "created_by_id" UUID NOT NULL,
    "created_by_name" VARCHAR(100) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
    CONSTRAINT "allowlist_entries_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "allowlist_entries_value_key" ON "allowlist_entries"("value");

-- Who changed a verdict or the allowlist, when, and the state before and after.
CREATE TABLE "curation_changes" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "kind" VARCHAR(16) NOT NULL,
    "action" VARCHAR(16) NOT NULL,
    "subject" VARCHAR(2048) NOT NULL,
    "before" JSONB,
    "after" JSONB,
    "actor_id" UUID NOT NULL,
    "actor_name" VARCHAR(100) NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
    CONSTRAINT "curation_changes_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "curation_changes_at_id_idx" ON "curation_changes"("at" DESC, "id" DESC);
CREATE INDEX "curation_changes_subject_at_id_idx" ON "curation_changes"("subject", "at" DESC, "id" DESC);
