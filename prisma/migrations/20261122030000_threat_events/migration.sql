-- CreateEnum
CREATE TYPE "ThreatCategory" AS ENUM ('BRUTEFORCE', 'SCAN', 'EXPLOIT', 'MALWARE', 'PHISHING', 'DDOS', 'BOTNET', 'SPAM', 'PROXY', 'CRAWLER', 'OTHER');

-- CreateEnum
CREATE TYPE "ClassificationMethod" AS ENUM ('RULES', 'MODEL');

-- CreateEnum
CREATE TYPE "ClassifierModelKind" AS ENUM ('FOREST', 'ANOMALY');

-- CreateTable
CREATE TABLE "threat_events" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "external_id" VARCHAR(200),
    "source_ip" INET NOT NULL,
    "destination_ip" INET,
    "source_port" INTEGER,
    "destination_port" INTEGER,
    "protocol" VARCHAR(32),
    "threat_type" VARCHAR(200) NOT NULL,
    "severity" SMALLINT NOT NULL,
    "confidence" DOUBLE PRECISION NOT NULL,
    "description" TEXT,
    "sensor" VARCHAR(200),
    "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "ingested_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "country_code" CHAR(2),
    "city" VARCHAR(200),
    "latitude" DOUBLE PRECISION,
    "longitude" DOUBLE PRECISION,
    "geo_approximate" BOOLEAN NOT NULL DEFAULT false,
    "asn" INTEGER,
    "as_org" VARCHAR(200),
    "known_ioc" BOOLEAN NOT NULL DEFAULT false,
    "banned" BOOLEAN NOT NULL DEFAULT false,
    "category" "ThreatCategory" NOT NULL,
    "category_confidence" DOUBLE PRECISION NOT NULL,
    "anomaly_score" DOUBLE PRECISION,
    "is_anomaly" BOOLEAN NOT NULL DEFAULT false,
    "classification_method" "ClassificationMethod" NOT NULL,
    "model_version" VARCHAR(64),
    "raw" JSONB,

    CONSTRAINT "threat_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "threat_labels" (
    "event_id" UUID NOT NULL,
    "category" "ThreatCategory" NOT NULL,
    "labelled_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "labelled_by" UUID,

    CONSTRAINT "threat_labels_pkey" PRIMARY KEY ("event_id")
);

-- CreateTable
CREATE TABLE "classifier_models" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "kind" "ClassifierModelKind" NOT NULL,
    "version" VARCHAR(64) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "trained_on" INTEGER NOT NULL,
    "cv_accuracy" DOUBLE PRECISION,
    "rules_accuracy" DOUBLE PRECISION,
    "promoted" BOOLEAN NOT NULL DEFAULT false,
    "model" JSONB NOT NULL,

    CONSTRAINT "classifier_models_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "threat_events_external_id_key" ON "threat_events"("external_id");

-- CreateIndex
CREATE INDEX "threat_events_occurred_at_id_idx" ON "threat_events"("occurred_at", "id");

-- CreateIndex
CREATE INDEX "threat_events_source_ip_occurred_at_idx" ON "threat_events"("source_ip", "occurred_at");

-- CreateIndex
CREATE INDEX "threat_events_country_code_occurred_at_idx" ON "threat_events"("country_code", "occurred_at");

-- CreateIndex
CREATE INDEX "threat_labels_labelled_at_idx" ON "threat_labels"("labelled_at");

-- CreateIndex
CREATE UNIQUE INDEX "classifier_models_version_key" ON "classifier_models"("version");

-- CreateIndex
CREATE INDEX "classifier_models_kind_created_at_idx" ON "classifier_models"("kind", "created_at");

-- AddForeignKey
ALTER TABLE "threat_labels" ADD CONSTRAINT "threat_labels_event_id_fkey" FOREIGN KEY ("event_id") REFERENCES "threat_events"("id") ON DELETE CASCADE ON UPDATE CASCADE;
