-- A stored score made with an analyst verdict that has an expiry is valid until that
-- expiry. score_valid_until is that instant (null: valid until the inputs change);
-- lapsed_score and lapsed_level are the score and level the IOC has from then on (the
-- same fusion without the verdict), so the iocs list filters (minScore, level) and the
-- SCORE order use the right value from the instant of expiry. The re-scoring worker
-- (src/iocs/ioc-lapse-worker.ts) then stores it as the score, with its history row; the
-- index lets its pass read only the rows whose score expired.
ALTER TABLE "iocs" ADD COLUMN "score_valid_until" TIMESTAMPTZ(3),
  ADD COLUMN "lapsed_score" SMALLINT,
  ADD COLUMN "lapsed_level" "RiskLevel";
CREATE INDEX "iocs_score_valid_until_idx" ON "iocs"("score_valid_until");
-- Scores stored before this migration with an expiring (or expired) verdict: their
-- lapsed score is not known yet, so they are due at once; the IOC module re-scores them
-- when it starts, before the instance serves.
UPDATE "iocs" SET "score_valid_until" = now() WHERE "verdict"->>'expiresAt' IS NOT NULL;
