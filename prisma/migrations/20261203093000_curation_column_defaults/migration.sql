-- Align the curation tables with schema.prisma as Prisma spells it: scalar lists are
-- nullable columns with an empty-array default, and `@default(now())` is CURRENT_TIMESTAMP.
ALTER TABLE "ioc_score_history" ALTER COLUMN "sources" DROP NOT NULL;
ALTER TABLE "allowlist_entries" ALTER COLUMN "created_at" SET DEFAULT CURRENT_TIMESTAMP;
ALTER TABLE "curation_changes" ALTER COLUMN "at" SET DEFAULT CURRENT_TIMESTAMP;
