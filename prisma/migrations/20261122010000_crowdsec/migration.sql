-- CreateTable
CREATE TABLE "crowdsec_decisions" (
    "id" BIGSERIAL NOT NULL,
    "lapi_url" VARCHAR(255) NOT NULL,
    "crowdsec_id" BIGINT NOT NULL,
    "origin" VARCHAR(64) NOT NULL,
    "type" VARCHAR(64) NOT NULL,
    "scope" VARCHAR(64) NOT NULL,
    "value" VARCHAR(255) NOT NULL,
    "scenario" TEXT NOT NULL,
    "simulated" BOOLEAN NOT NULL DEFAULT false,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deleted_at" TIMESTAMPTZ(3),
    "country_code" VARCHAR(2),
    "city" VARCHAR(255),
    "latitude" DOUBLE PRECISION,
    "longitude" DOUBLE PRECISION,
    "geo_approximate" BOOLEAN NOT NULL DEFAULT true,
    "asn" INTEGER,
    "as_org" VARCHAR(255),

    CONSTRAINT "crowdsec_decisions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "crowdsec_alerts" (
    "id" BIGSERIAL NOT NULL,
    "lapi_url" VARCHAR(255) NOT NULL,
    "crowdsec_id" BIGINT NOT NULL,
    "scenario" TEXT NOT NULL,
    "scenario_version" VARCHAR(64),
    "message" TEXT NOT NULL,
    "events_count" INTEGER NOT NULL,
    "start_at" TIMESTAMPTZ(3) NOT NULL,
    "stop_at" TIMESTAMPTZ(3) NOT NULL,
    "lapi_created_at" TIMESTAMPTZ(3) NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "machine_id" VARCHAR(255),
    "simulated" BOOLEAN NOT NULL DEFAULT false,
    "source_scope" VARCHAR(64) NOT NULL,
    "source_value" VARCHAR(255) NOT NULL,
    "source_ip" VARCHAR(64),
    "source_range" VARCHAR(64),
    "country_code" VARCHAR(2),
    "city" VARCHAR(255),
    "latitude" DOUBLE PRECISION,
    "longitude" DOUBLE PRECISION,
    "geo_approximate" BOOLEAN NOT NULL DEFAULT true,
    "asn" INTEGER,
    "as_org" VARCHAR(255),
    "decision_ids" BIGINT[],

    CONSTRAINT "crowdsec_alerts_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "crowdsec_decisions_created_at_id_idx" ON "crowdsec_decisions"("created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "crowdsec_decisions_value_idx" ON "crowdsec_decisions"("value");

-- CreateIndex
CREATE INDEX "crowdsec_decisions_country_code_created_at_idx" ON "crowdsec_decisions"("country_code", "created_at");

-- CreateIndex
CREATE INDEX "crowdsec_decisions_lapi_url_deleted_at_expires_at_idx" ON "crowdsec_decisions"("lapi_url", "deleted_at", "expires_at");

-- CreateIndex
CREATE UNIQUE INDEX "crowdsec_decisions_lapi_url_crowdsec_id_key" ON "crowdsec_decisions"("lapi_url", "crowdsec_id");

-- CreateIndex
CREATE INDEX "crowdsec_alerts_start_at_id_idx" ON "crowdsec_alerts"("start_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "crowdsec_alerts_start_at_scenario_idx" ON "crowdsec_alerts"("start_at", "scenario");

-- CreateIndex
CREATE INDEX "crowdsec_alerts_start_at_source_value_idx" ON "crowdsec_alerts"("start_at", "source_value");

-- CreateIndex
CREATE INDEX "crowdsec_alerts_start_at_country_code_idx" ON "crowdsec_alerts"("start_at", "country_code");

-- CreateIndex
CREATE INDEX "crowdsec_alerts_source_value_start_at_idx" ON "crowdsec_alerts"("source_value", "start_at");

-- CreateIndex
CREATE INDEX "crowdsec_alerts_scenario_start_at_idx" ON "crowdsec_alerts"("scenario", "start_at");

-- CreateIndex
CREATE INDEX "crowdsec_alerts_country_code_start_at_idx" ON "crowdsec_alerts"("country_code", "start_at");

-- CreateIndex
CREATE UNIQUE INDEX "crowdsec_alerts_lapi_url_crowdsec_id_key" ON "crowdsec_alerts"("lapi_url", "crowdsec_id");
