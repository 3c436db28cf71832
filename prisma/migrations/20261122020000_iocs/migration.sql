-- CreateEnum
CREATE TYPE "IocType" AS ENUM ('IPV4', 'IPV6', 'DOMAIN', 'URL', 'MD5', 'SHA1', 'SHA256');

-- CreateEnum
CREATE TYPE "RiskLevel" AS ENUM ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL');

-- CreateEnum
CREATE TYPE "SourceName" AS ENUM ('ABUSEIPDB', 'OTX', 'VIRUSTOTAL');

-- CreateEnum
CREATE TYPE "SourceStatus" AS ENUM ('OK', 'ERROR', 'SKIPPED');

-- CreateTable
CREATE TABLE "iocs" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "type" "IocType" NOT NULL,
    "value" VARCHAR(2048) NOT NULL,
    "risk_score" SMALLINT,
    "risk_level" "RiskLevel",
    "categories" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "sources" JSONB NOT NULL DEFAULT '{}',
    "watched" BOOLEAN NOT NULL DEFAULT false,
    "first_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_enriched_at" TIMESTAMPTZ(3),
    "next_enrich_at" TIMESTAMPTZ(3),

    CONSTRAINT "iocs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "enrichments" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "ioc_id" UUID NOT NULL,
    "source" "SourceName" NOT NULL,
    "status" "SourceStatus" NOT NULL,
    "score" SMALLINT,
    "categories" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "data" JSONB NOT NULL DEFAULT '{}',
    "raw" JSONB,
    "error" TEXT,
    "error_kind" VARCHAR(32),
    "duration_ms" INTEGER NOT NULL,
    "fetched_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "enrichments_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "iocs_value_key" ON "iocs"("value");

-- CreateIndex
CREATE INDEX "iocs_next_enrich_at_idx" ON "iocs"("next_enrich_at");

-- CreateIndex
CREATE INDEX "iocs_risk_score_idx" ON "iocs"("risk_score");

-- CreateIndex
CREATE INDEX "enrichments_ioc_id_fetched_at_id_idx" ON "enrichments"("ioc_id", "fetched_at" DESC, "id" DESC);

-- AddForeignKey
ALTER TABLE "enrichments" ADD CONSTRAINT "enrichments_ioc_id_fkey" FOREIGN KEY ("ioc_id") REFERENCES "iocs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
