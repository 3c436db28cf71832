-- Weekly and monthly rollups, so that long windows read few buckets: a 30-day window
-- reads its whole weeks from the weekly tables of the high-cardinality (source) rollups,
-- a year-long window its whole months from the monthly ones (src/platform/rollup-window.ts
-- plans a window over whatever levels a family has, coarsest first). Weeks start on
-- Mondays (date_trunc('week')), months on the 1st, both in UTC.
--
-- Backfill without double counting: the source tables are locked against writes
-- (SHARE: their triggers, the only writers of the journals, cannot fire) until this
-- migration commits; each journal is then compacted in full by the compaction functions
-- as they were, so the daily rollups hold every row; the new tables are filled from the
-- daily ones; and only then do the compaction functions learn the new tables.
LOCK TABLE "crowdsec_alerts", "crowdsec_decisions", "threat_events" IN SHARE MODE;
SELECT pg_advisory_xact_lock(1953955843, 1), pg_advisory_xact_lock(1953955843, 2), pg_advisory_xact_lock(1953955843, 3);
SELECT "stats_alert_pending_compact"(2147483647), "stats_decision_pending_compact"(2147483647), "stats_threat_pending_compact"(2147483647);

CREATE TABLE "stats_alert_monthly" (
  "bucket" timestamptz(3) NOT NULL,
  "country_code" varchar(2) NOT NULL,
  "scenario" text NOT NULL,
  "n" integer NOT NULL,
  CONSTRAINT "stats_alert_monthly_pkey" PRIMARY KEY ("bucket", "country_code", "scenario")
);
INSERT INTO "stats_alert_monthly" ("bucket", "country_code", "scenario", "n")
  SELECT date_trunc('month', bucket, 'UTC'), country_code, scenario, sum(n) FROM "stats_alert_daily"
  GROUP BY 1, 2, 3 HAVING sum(n) <> 0;

CREATE TABLE "stats_alert_source_weekly" (
  "bucket" timestamptz(3) NOT NULL,
  "source_value" varchar(255) NOT NULL,
  "scenario" text NOT NULL,
  "n" integer NOT NULL,
  CONSTRAINT "stats_alert_source_weekly_pkey" PRIMARY KEY ("bucket", "source_value", "scenario")
);
INSERT INTO "stats_alert_source_weekly" ("bucket", "source_value", "scenario", "n")
  SELECT date_trunc('week', bucket, 'UTC'), source_value, scenario, sum(n) FROM "stats_alert_source_daily"
  GROUP BY 1, 2, 3 HAVING sum(n) <> 0;

CREATE TABLE "stats_alert_source_monthly" (
  "bucket" timestamptz(3) NOT NULL,
  "source_value" varchar(255) NOT NULL,
  "scenario" text NOT NULL,
  "n" integer NOT NULL,
  CONSTRAINT "stats_alert_source_monthly_pkey" PRIMARY KEY ("bucket", "source_value", "scenario")
);
INSERT INTO "stats_alert_source_monthly" ("bucket", "source_value", "scenario", "n")
  SELECT date_trunc('month', bucket, 'UTC'), source_value, scenario, sum(n) FROM "stats_alert_source_daily"
  GROUP BY 1, 2, 3 HAVING sum(n) <> 0;

CREATE TABLE "stats_decision_monthly" (
  "bucket" timestamptz(3) NOT NULL,
  "country_code" varchar(2) NOT NULL,
  "n" integer NOT NULL,
  CONSTRAINT "stats_decision_monthly_pkey" PRIMARY KEY ("bucket", "country_code")
);
INSERT INTO "stats_decision_monthly" ("bucket", "country_code", "n")
  SELECT date_trunc('month', bucket, 'UTC'), country_code, sum(n) FROM "stats_decision_daily"
  GROUP BY 1, 2 HAVING sum(n) <> 0;

CREATE TABLE "stats_threat_monthly" (
  "bucket" timestamptz(3) NOT NULL,
  "country_code" varchar(2) NOT NULL,
  "category" "ThreatCategory" NOT NULL,
  "threat_type" varchar(200) NOT NULL,
  "severity" smallint NOT NULL,
  "n" integer NOT NULL,
  CONSTRAINT "stats_threat_monthly_pkey" PRIMARY KEY ("bucket", "country_code", "category", "threat_type", "severity")
);
INSERT INTO "stats_threat_monthly" ("bucket", "country_code", "category", "threat_type", "severity", "n")
  SELECT date_trunc('month', bucket, 'UTC'), country_code, category, threat_type, severity, sum(n) FROM "stats_threat_daily"
  GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0;

CREATE TABLE "stats_threat_endpoint_weekly" (
  "bucket" timestamptz(3) NOT NULL,
  "country_code" varchar(2) NOT NULL,
  "category" "ThreatCategory" NOT NULL,
  "threat_type" varchar(200) NOT NULL,
  "severity" smallint NOT NULL,
  "source_ip" inet NOT NULL,
  "destination_port" integer NOT NULL,
  "n" integer NOT NULL,
  CONSTRAINT "stats_threat_endpoint_weekly_pkey" PRIMARY KEY ("bucket", "country_code", "category", "threat_type", "severity", "source_ip", "destination_port")
);
INSERT INTO "stats_threat_endpoint_weekly" ("bucket", "country_code", "category", "threat_type", "severity", "source_ip", "destination_port", "n")
  SELECT date_trunc('week', bucket, 'UTC'), country_code, category, threat_type, severity, source_ip, destination_port, sum(n) FROM "stats_threat_endpoint_daily"
  GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING sum(n) <> 0;

CREATE TABLE "stats_threat_endpoint_monthly" (
  "bucket" timestamptz(3) NOT NULL,
  "country_code" varchar(2) NOT NULL,
  "category" "ThreatCategory" NOT NULL,
  "threat_type" varchar(200) NOT NULL,
  "severity" smallint NOT NULL,
  "source_ip" inet NOT NULL,
  "destination_port" integer NOT NULL,
  "n" integer NOT NULL,
  CONSTRAINT "stats_threat_endpoint_monthly_pkey" PRIMARY KEY ("bucket", "country_code", "category", "threat_type", "severity", "source_ip", "destination_port")
);
INSERT INTO "stats_threat_endpoint_monthly" ("bucket", "country_code", "category", "threat_type", "severity", "source_ip", "destination_port", "n")
  SELECT date_trunc('month', bucket, 'UTC'), country_code, category, threat_type, severity, source_ip, destination_port, sum(n) FROM "stats_threat_endpoint_daily"
  GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING sum(n) <> 0;

CREATE TABLE "stats_threat_map_monthly" (
  "bucket" timestamptz(3) NOT NULL,
  "country_code" varchar(2) NOT NULL,
  "city" varchar(200) NOT NULL,
  "latitude" double precision NOT NULL,
  "longitude" double precision NOT NULL,
  "approximate" boolean NOT NULL,
  "category" "ThreatCategory" NOT NULL,
  "severity" smallint NOT NULL,
  "n" integer NOT NULL,
  CONSTRAINT "stats_threat_map_monthly_pkey" PRIMARY KEY ("bucket", "country_code", "city", "latitude", "longitude", "approximate", "category", "severity")
);
INSERT INTO "stats_threat_map_monthly" ("bucket", "country_code", "city", "latitude", "longitude", "approximate", "category", "severity", "n")
  SELECT date_trunc('month', bucket, 'UTC'), country_code, city, latitude, longitude, approximate, category, severity, sum(n) FROM "stats_threat_map_daily"
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 HAVING sum(n) <> 0;

-- Moves up to max_rows journal rows of crowdsec_alerts into its rollups and returns how many it
-- moved, or -1 when another session is compacting them now. Upserts go in key order.
CREATE OR REPLACE FUNCTION "stats_alert_pending_compact"("max_rows" integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  moved_rows integer;
BEGIN
  IF NOT pg_try_advisory_xact_lock(1953955843, 1) THEN
    RETURN -1;
  END IF;
  WITH moved AS (
    DELETE FROM "stats_alert_pending" WHERE "id" IN (SELECT "id" FROM "stats_alert_pending" ORDER BY "id" LIMIT max_rows)
    RETURNING *),
  r0 AS (
    INSERT INTO "stats_alert_hourly" ("bucket", "country_code", "scenario", "n")
      SELECT date_trunc('hour', at, 'UTC'), country_code, scenario, sum(n) FROM moved GROUP BY 1, 2, 3 HAVING sum(n) <> 0 ORDER BY 1, 2, 3
      ON CONFLICT ("bucket", "country_code", "scenario") DO UPDATE SET "n" = "stats_alert_hourly"."n" + EXCLUDED."n"),
  r1 AS (
    INSERT INTO "stats_alert_daily" ("bucket", "country_code", "scenario", "n")
      SELECT date_trunc('day', at, 'UTC'), country_code, scenario, sum(n) FROM moved GROUP BY 1, 2, 3 HAVING sum(n) <> 0 ORDER BY 1, 2, 3
      ON CONFLICT ("bucket", "country_code", "scenario") DO UPDATE SET "n" = "stats_alert_daily"."n" + EXCLUDED."n"),
  r2 AS (
    INSERT INTO "stats_alert_monthly" ("bucket", "country_code", "scenario", "n")
      SELECT date_trunc('month', at, 'UTC'), country_code, scenario, sum(n) FROM moved GROUP BY 1, 2, 3 HAVING sum(n) <> 0 ORDER BY 1, 2, 3
      ON CONFLICT ("bucket", "country_code", "scenario") DO UPDATE SET "n" = "stats_alert_monthly"."n" + EXCLUDED."n"),
  r3 AS (
    INSERT INTO "stats_alert_source_daily" ("bucket", "source_value", "scenario", "n")
      SELECT date_trunc('day', at, 'UTC'), source_value, scenario, sum(n) FROM moved GROUP BY 1, 2, 3 HAVING sum(n) <> 0 ORDER BY 1, 2, 3
      ON CONFLICT ("bucket", "source_value", "scenario") DO UPDATE SET "n" = "stats_alert_source_daily"."n" + EXCLUDED."n"),
  r4 AS (
    INSERT INTO "stats_alert_source_weekly" ("bucket", "source_value", "scenario", "n")
      SELECT date_trunc('week', at, 'UTC'), source_value, scenario, sum(n) FROM moved GROUP BY 1, 2, 3 HAVING sum(n) <> 0 ORDER BY 1, 2, 3
      ON CONFLICT ("bucket", "source_value", "scenario") DO UPDATE SET "n" = "stats_alert_source_weekly"."n" + EXCLUDED."n"),
  r5 AS (
    INSERT INTO "stats_alert_source_monthly" ("bucket", "source_value", "scenario", "n")
      SELECT date_trunc('month', at, 'UTC'), source_value, scenario, sum(n) FROM moved GROUP BY 1, 2, 3 HAVING sum(n) <> 0 ORDER BY 1, 2, 3
      ON CONFLICT ("bucket", "source_value", "scenario") DO UPDATE SET "n" = "stats_alert_source_monthly"."n" + EXCLUDED."n")
  SELECT count(*) INTO moved_rows FROM moved;
  RETURN moved_rows;
END
$$;

CREATE OR REPLACE FUNCTION "crowdsec_alerts_stats_truncate"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "stats_alert_hourly";
  DELETE FROM "stats_alert_daily";
  DELETE FROM "stats_alert_monthly";
  DELETE FROM "stats_alert_source_daily";
  DELETE FROM "stats_alert_source_weekly";
  DELETE FROM "stats_alert_source_monthly";
  DELETE FROM "stats_alert_pending";
  RETURN NULL;
END
$$;

-- Moves up to max_rows journal rows of crowdsec_decisions into its rollups and returns how many it
-- moved, or -1 when another session is compacting them now. Upserts go in key order.
CREATE OR REPLACE FUNCTION "stats_decision_pending_compact"("max_rows" integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  moved_rows integer;
BEGIN
  IF NOT pg_try_advisory_xact_lock(1953955843, 2) THEN
    RETURN -1;
  END IF;
  WITH moved AS (
    DELETE FROM "stats_decision_pending" WHERE "id" IN (SELECT "id" FROM "stats_decision_pending" ORDER BY "id" LIMIT max_rows)
    RETURNING *),
  r0 AS (
    INSERT INTO "stats_decision_hourly" ("bucket", "country_code", "n")
      SELECT date_trunc('hour', at, 'UTC'), country_code, sum(n) FROM moved GROUP BY 1, 2 HAVING sum(n) <> 0 ORDER BY 1, 2
      ON CONFLICT ("bucket", "country_code") DO UPDATE SET "n" = "stats_decision_hourly"."n" + EXCLUDED."n"),
  r1 AS (
    INSERT INTO "stats_decision_daily" ("bucket", "country_code", "n")
      SELECT date_trunc('day', at, 'UTC'), country_code, sum(n) FROM moved GROUP BY 1, 2 HAVING sum(n) <> 0 ORDER BY 1, 2
      ON CONFLICT ("bucket", "country_code") DO UPDATE SET "n" = "stats_decision_daily"."n" + EXCLUDED."n"),
  r2 AS (
    INSERT INTO "stats_decision_monthly" ("bucket", "country_code", "n")
      SELECT date_trunc('month', at, 'UTC'), country_code, sum(n) FROM moved GROUP BY 1, 2 HAVING sum(n) <> 0 ORDER BY 1, 2
      ON CONFLICT ("bucket", "country_code") DO UPDATE SET "n" = "stats_decision_monthly"."n" + EXCLUDED."n")
  SELECT count(*) INTO moved_rows FROM moved;
  RETURN moved_rows;
END
$$;

CREATE OR REPLACE FUNCTION "crowdsec_decisions_stats_truncate"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "stats_decision_hourly";
  DELETE FROM "stats_decision_daily";
  DELETE FROM "stats_decision_monthly";
  DELETE FROM "stats_decision_pending";
  RETURN NULL;
END
$$;

-- Moves up to max_rows journal rows of threat_events into its rollups and returns how many it
-- moved, or -1 when another session is compacting them now. Upserts go in key order.
CREATE OR REPLACE FUNCTION "stats_threat_pending_compact"("max_rows" integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  moved_rows integer;
BEGIN
  IF NOT pg_try_advisory_xact_lock(1953955843, 3) THEN
    RETURN -1;
  END IF;
  WITH moved AS (
    DELETE FROM "stats_threat_pending" WHERE "id" IN (SELECT "id" FROM "stats_threat_pending" ORDER BY "id" LIMIT max_rows)
    RETURNING *),
  r0 AS (
    INSERT INTO "stats_threat_hourly" ("bucket", "country_code", "category", "threat_type", "severity", "n")
      SELECT date_trunc('hour', at, 'UTC'), country_code, category, threat_type, severity, sum(n) FROM moved GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0 ORDER BY 1, 2, 3, 4, 5
      ON CONFLICT ("bucket", "country_code", "category", "threat_type", "severity") DO UPDATE SET "n" = "stats_threat_hourly"."n" + EXCLUDED."n"),
  r1 AS (
    INSERT INTO "stats_threat_daily" ("bucket", "country_code", "category", "threat_type", "severity", "n")
      SELECT date_trunc('day', at, 'UTC'), country_code, category, threat_type, severity, sum(n) FROM moved GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0 ORDER BY 1, 2, 3, 4, 5
      ON CONFLICT ("bucket", "country_code", "category", "threat_type", "severity") DO UPDATE SET "n" = "stats_threat_daily"."n" + EXCLUDED."n"),
  r2 AS (
    INSERT INTO "stats_threat_monthly" ("bucket", "country_code", "category", "threat_type", "severity", "n")
      SELECT date_trunc('month', at, 'UTC'), country_code, category, threat_type, severity, sum(n) FROM moved GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0 ORDER BY 1, 2, 3, 4, 5
      ON CONFLICT ("bucket", "country_code", "category", "threat_type", "severity") DO UPDATE SET "n" = "stats_threat_monthly"."n" + EXCLUDED."n"),
  r3 AS (
    INSERT INTO "stats_threat_endpoint_daily" ("bucket", "country_code", "category", "threat_type", "severity", "source_ip", "destination_port", "n")
      SELECT date_trunc('day', at, 'UTC'), country_code, category, threat_type, severity, source_ip, destination_port, sum(n) FROM moved GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING sum(n) <> 0 ORDER BY 1, 2, 3, 4, 5, 6, 7
      ON CONFLICT ("bucket", "country_code", "category", "threat_type", "severity", "source_ip", "destination_port") DO UPDATE SET "n" = "stats_threat_endpoint_daily"."n" + EXCLUDED."n"),
  r4 AS (
    INSERT INTO "stats_threat_endpoint_weekly" ("bucket", "country_code", "category", "threat_type", "severity", "source_ip", "destination_port", "n")
      SELECT date_trunc('week', at, 'UTC'), country_code, category, threat_type, severity, source_ip, destination_port, sum(n) FROM moved GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING sum(n) <> 0 ORDER BY 1, 2, 3, 4, 5, 6, 7
      ON CONFLICT ("bucket", "country_code", "category", "threat_type", "severity", "source_ip", "destination_port") DO UPDATE SET "n" = "stats_threat_endpoint_weekly"."n" + EXCLUDED."n"),
  r5 AS (
    INSERT INTO "stats_threat_endpoint_monthly" ("bucket", "country_code", "category", "threat_type", "severity", "source_ip", "destination_port", "n")
      SELECT date_trunc('month', at, 'UTC'), country_code, category, threat_type, severity, source_ip, destination_port, sum(n) FROM moved GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING sum(n) <> 0 ORDER BY 1, 2, 3, 4, 5, 6, 7
      ON CONFLICT ("bucket", "country_code", "category", "threat_type", "severity", "source_ip", "destination_port") DO UPDATE SET "n" = "stats_threat_endpoint_monthly"."n" + EXCLUDED."n"),
  r6 AS (
    INSERT INTO "stats_threat_map_hourly" ("bucket", "country_code", "city", "latitude", "longitude", "approximate", "category", "severity", "n")
      SELECT date_trunc('hour', at, 'UTC'), country_code, city, latitude, longitude, approximate, category, severity, sum(n) FROM moved WHERE latitude IS NOT NULL AND longitude IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 HAVING sum(n) <> 0 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
      ON CONFLICT ("bucket", "country_code", "city", "latitude", "longitude", "approximate", "category", "severity") DO UPDATE SET "n" = "stats_threat_map_hourly"."n" + EXCLUDED."n"),
  r7 AS (
    INSERT INTO "stats_threat_map_daily" ("bucket", "country_code", "city", "latitude", "longitude", "approximate", "category", "severity", "n")
      SELECT date_trunc('day', at, 'UTC'), country_code, city, latitude, longitude, approximate, category, severity, sum(n) FROM moved WHERE latitude IS NOT NULL AND longitude IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 HAVING sum(n) <> 0 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
      ON CONFLICT ("bucket", "country_code", "city", "latitude", "longitude", "approximate", "category", "severity") DO UPDATE SET "n" = "stats_threat_map_daily"."n" + EXCLUDED."n"),
  r8 AS (
    INSERT INTO "stats_threat_map_monthly" ("bucket", "country_code", "city", "latitude", "longitude", "approximate", "category", "severity", "n")
      SELECT date_trunc('month', at, 'UTC'), country_code, city, latitude, longitude, approximate, category, severity, sum(n) FROM moved WHERE latitude IS NOT NULL AND longitude IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 HAVING sum(n) <> 0 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
      ON CONFLICT ("bucket", "country_code", "city", "latitude", "longitude", "approximate", "category", "severity") DO UPDATE SET "n" = "stats_threat_map_monthly"."n" + EXCLUDED."n")
  SELECT count(*) INTO moved_rows FROM moved;
  RETURN moved_rows;
END
$$;

CREATE OR REPLACE FUNCTION "threat_events_stats_truncate"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "stats_threat_hourly";
  DELETE FROM "stats_threat_daily";
  DELETE FROM "stats_threat_monthly";
  DELETE FROM "stats_threat_endpoint_daily";
  DELETE FROM "stats_threat_endpoint_weekly";
  DELETE FROM "stats_threat_endpoint_monthly";
  DELETE FROM "stats_threat_map_hourly";
  DELETE FROM "stats_threat_map_daily";
  DELETE FROM "stats_threat_map_monthly";
  DELETE FROM "stats_threat_pending";
  RETURN NULL;
END
$$;
