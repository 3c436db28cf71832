-- Statistics rollups: per-hour and per-day counts of alerts, decisions and threat events,
-- kept equal to a recount of the rows by statement-level triggers that run in the writing
-- transaction (INSERT adds, DELETE subtracts, UPDATE subtracts the old and adds the new
-- version of each row). Readers (src/platform/rollup-window.ts) sum the buckets inside a
-- window and count only the partial buckets at its edges from the rows. A rollup row may
-- reach n = 0 after deletes; readers ignore it. See docs/architecture.md, "Statistics".


CREATE TABLE "stats_alert_hourly" (
  "bucket" timestamptz(3) NOT NULL,
  "country_code" varchar(2) NOT NULL,
  "scenario" text NOT NULL,
  "n" integer NOT NULL,
  CONSTRAINT "stats_alert_hourly_pkey" PRIMARY KEY ("bucket", "country_code", "scenario")
);

CREATE TABLE "stats_alert_daily" (
  "bucket" timestamptz(3) NOT NULL,
  "country_code" varchar(2) NOT NULL,
  "scenario" text NOT NULL,
  "n" integer NOT NULL,
  CONSTRAINT "stats_alert_daily_pkey" PRIMARY KEY ("bucket", "country_code", "scenario")
);

CREATE TABLE "stats_alert_source_daily" (
  "bucket" timestamptz(3) NOT NULL,
  "source_value" varchar(255) NOT NULL,
  "scenario" text NOT NULL,
  "n" integer NOT NULL,
  CONSTRAINT "stats_alert_source_daily_pkey" PRIMARY KEY ("bucket", "source_value", "scenario")
);

CREATE TABLE "stats_decision_hourly" (
  "bucket" timestamptz(3) NOT NULL,
  "country_code" varchar(2) NOT NULL,
  "n" integer NOT NULL,
  CONSTRAINT "stats_decision_hourly_pkey" PRIMARY KEY ("bucket", "country_code")
);

CREATE TABLE "stats_decision_daily" (
  "bucket" timestamptz(3) NOT NULL,
  "country_code" varchar(2) NOT NULL,
  "n" integer NOT NULL,
  CONSTRAINT "stats_decision_daily_pkey" PRIMARY KEY ("bucket", "country_code")
);

CREATE TABLE "stats_threat_hourly" (
  "bucket" timestamptz(3) NOT NULL,
  "country_code" varchar(2) NOT NULL,
  "category" "ThreatCategory" NOT NULL,
  "threat_type" varchar(200) NOT NULL,
  "severity" smallint NOT NULL,
  "n" integer NOT NULL,
  CONSTRAINT "stats_threat_hourly_pkey" PRIMARY KEY ("bucket", "country_code", "category", "threat_type", "severity")
);

CREATE TABLE "stats_threat_daily" (
  "bucket" timestamptz(3) NOT NULL,
  "country_code" varchar(2) NOT NULL,
  "category" "ThreatCategory" NOT NULL,
  "threat_type" varchar(200) NOT NULL,
  "severity" smallint NOT NULL,
  "n" integer NOT NULL,
  CONSTRAINT "stats_threat_daily_pkey" PRIMARY KEY ("bucket", "country_code", "category", "threat_type", "severity")
);

CREATE TABLE "stats_threat_endpoint_daily" (
  "bucket" timestamptz(3) NOT NULL,
  "country_code" varchar(2) NOT NULL,
  "category" "ThreatCategory" NOT NULL,
  "threat_type" varchar(200) NOT NULL,
  "severity" smallint NOT NULL,
  "source_ip" inet NOT NULL,
  "destination_port" integer NOT NULL,
  "n" integer NOT NULL,
  CONSTRAINT "stats_threat_endpoint_daily_pkey" PRIMARY KEY ("bucket", "country_code", "category", "threat_type", "severity", "source_ip", "destination_port")
);

CREATE TABLE "stats_threat_map_hourly" (
  "bucket" timestamptz(3) NOT NULL,
  "country_code" varchar(2) NOT NULL,
  "city" varchar(200) NOT NULL,
  "latitude" double precision NOT NULL,
  "longitude" double precision NOT NULL,
  "approximate" boolean NOT NULL,
  "category" "ThreatCategory" NOT NULL,
  "severity" smallint NOT NULL,
  "n" integer NOT NULL,
  CONSTRAINT "stats_threat_map_hourly_pkey" PRIMARY KEY ("bucket", "country_code", "city", "latitude", "longitude", "approximate", "category", "severity")
);

CREATE TABLE "stats_threat_map_daily" (
  "bucket" timestamptz(3) NOT NULL,
  "country_code" varchar(2) NOT NULL,
  "city" varchar(200) NOT NULL,
  "latitude" double precision NOT NULL,
  "longitude" double precision NOT NULL,
  "approximate" boolean NOT NULL,
  "category" "ThreatCategory" NOT NULL,
  "severity" smallint NOT NULL,
  "n" integer NOT NULL,
  CONSTRAINT "stats_threat_map_daily_pkey" PRIMARY KEY ("bucket", "country_code", "city", "latitude", "longitude", "approximate", "category", "severity")
);

-- Rollups of crowdsec_alerts. Rows are upserted in key order, so concurrent writers lock
-- rollup rows in one order and cannot deadlock on them.
CREATE FUNCTION "crowdsec_alerts_stats_rollup"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO "stats_alert_hourly" ("bucket", "country_code", "scenario", "n")
      SELECT date_trunc('hour', start_at, 'UTC') AS bucket, coalesce(country_code, '') AS country_code, scenario AS scenario, count(*) FROM new_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
      ON CONFLICT ("bucket", "country_code", "scenario") DO UPDATE SET "n" = "stats_alert_hourly"."n" + EXCLUDED."n";
    INSERT INTO "stats_alert_daily" ("bucket", "country_code", "scenario", "n")
      SELECT date_trunc('day', start_at, 'UTC') AS bucket, coalesce(country_code, '') AS country_code, scenario AS scenario, count(*) FROM new_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
      ON CONFLICT ("bucket", "country_code", "scenario") DO UPDATE SET "n" = "stats_alert_daily"."n" + EXCLUDED."n";
    INSERT INTO "stats_alert_source_daily" ("bucket", "source_value", "scenario", "n")
      SELECT date_trunc('day', start_at, 'UTC') AS bucket, source_value AS source_value, scenario AS scenario, count(*) FROM new_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
      ON CONFLICT ("bucket", "source_value", "scenario") DO UPDATE SET "n" = "stats_alert_source_daily"."n" + EXCLUDED."n";
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO "stats_alert_hourly" ("bucket", "country_code", "scenario", "n")
      SELECT date_trunc('hour', start_at, 'UTC') AS bucket, coalesce(country_code, '') AS country_code, scenario AS scenario, -count(*) FROM old_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
      ON CONFLICT ("bucket", "country_code", "scenario") DO UPDATE SET "n" = "stats_alert_hourly"."n" + EXCLUDED."n";
    INSERT INTO "stats_alert_daily" ("bucket", "country_code", "scenario", "n")
      SELECT date_trunc('day', start_at, 'UTC') AS bucket, coalesce(country_code, '') AS country_code, scenario AS scenario, -count(*) FROM old_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
      ON CONFLICT ("bucket", "country_code", "scenario") DO UPDATE SET "n" = "stats_alert_daily"."n" + EXCLUDED."n";
    INSERT INTO "stats_alert_source_daily" ("bucket", "source_value", "scenario", "n")
      SELECT date_trunc('day', start_at, 'UTC') AS bucket, source_value AS source_value, scenario AS scenario, -count(*) FROM old_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
      ON CONFLICT ("bucket", "source_value", "scenario") DO UPDATE SET "n" = "stats_alert_source_daily"."n" + EXCLUDED."n";
  ELSE
    INSERT INTO "stats_alert_hourly" ("bucket", "country_code", "scenario", "n")
      SELECT bucket, country_code, scenario, sum(d) FROM (
        SELECT date_trunc('hour', start_at, 'UTC') AS bucket, coalesce(country_code, '') AS country_code, scenario AS scenario, 1 AS d FROM new_rows
        UNION ALL SELECT date_trunc('hour', start_at, 'UTC') AS bucket, coalesce(country_code, '') AS country_code, scenario AS scenario, -1 FROM old_rows) x
      GROUP BY 1, 2, 3 HAVING sum(d) <> 0 ORDER BY 1, 2, 3
      ON CONFLICT ("bucket", "country_code", "scenario") DO UPDATE SET "n" = "stats_alert_hourly"."n" + EXCLUDED."n";
    INSERT INTO "stats_alert_daily" ("bucket", "country_code", "scenario", "n")
      SELECT bucket, country_code, scenario, sum(d) FROM (
        SELECT date_trunc('day', start_at, 'UTC') AS bucket, coalesce(country_code, '') AS country_code, scenario AS scenario, 1 AS d FROM new_rows
        UNION ALL SELECT date_trunc('day', start_at, 'UTC') AS bucket, coalesce(country_code, '') AS country_code, scenario AS scenario, -1 FROM old_rows) x
      GROUP BY 1, 2, 3 HAVING sum(d) <> 0 ORDER BY 1, 2, 3
      ON CONFLICT ("bucket", "country_code", "scenario") DO UPDATE SET "n" = "stats_alert_daily"."n" + EXCLUDED."n";
    INSERT INTO "stats_alert_source_daily" ("bucket", "source_value", "scenario", "n")
      SELECT bucket, source_value, scenario, sum(d) FROM (
        SELECT date_trunc('day', start_at, 'UTC') AS bucket, source_value AS source_value, scenario AS scenario, 1 AS d FROM new_rows
        UNION ALL SELECT date_trunc('day', start_at, 'UTC') AS bucket, source_value AS source_value, scenario AS scenario, -1 FROM old_rows) x
      GROUP BY 1, 2, 3 HAVING sum(d) <> 0 ORDER BY 1, 2, 3
      ON CONFLICT ("bucket", "source_value", "scenario") DO UPDATE SET "n" = "stats_alert_source_daily"."n" + EXCLUDED."n";
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER "crowdsec_alerts_stats_insert" AFTER INSERT ON "crowdsec_alerts"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "crowdsec_alerts_stats_rollup"();
CREATE TRIGGER "crowdsec_alerts_stats_delete" AFTER DELETE ON "crowdsec_alerts"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "crowdsec_alerts_stats_rollup"();
CREATE TRIGGER "crowdsec_alerts_stats_update" AFTER UPDATE ON "crowdsec_alerts"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "crowdsec_alerts_stats_rollup"();
-- TRUNCATE fires no DELETE trigger: it empties the rollups of the table as well.
CREATE FUNCTION "crowdsec_alerts_stats_truncate"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "stats_alert_hourly";
  DELETE FROM "stats_alert_daily";
  DELETE FROM "stats_alert_source_daily";
  RETURN NULL;
END
$$;
CREATE TRIGGER "crowdsec_alerts_stats_truncate" AFTER TRUNCATE ON "crowdsec_alerts"
  FOR EACH STATEMENT EXECUTE FUNCTION "crowdsec_alerts_stats_truncate"();

-- Rollups of crowdsec_decisions. Rows are upserted in key order, so concurrent writers lock
-- rollup rows in one order and cannot deadlock on them.
CREATE FUNCTION "crowdsec_decisions_stats_rollup"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO "stats_decision_hourly" ("bucket", "country_code", "n")
      SELECT date_trunc('hour', created_at, 'UTC') AS bucket, coalesce(country_code, '') AS country_code, count(*) FROM new_rows GROUP BY 1, 2 ORDER BY 1, 2
      ON CONFLICT ("bucket", "country_code") DO UPDATE SET "n" = "stats_decision_hourly"."n" + EXCLUDED."n";
    INSERT INTO "stats_decision_daily" ("bucket", "country_code", "n")
      SELECT date_trunc('day', created_at, 'UTC') AS bucket, coalesce(country_code, '') AS country_code, count(*) FROM new_rows GROUP BY 1, 2 ORDER BY 1, 2
      ON CONFLICT ("bucket", "country_code") DO UPDATE SET "n" = "stats_decision_daily"."n" + EXCLUDED."n";
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO "stats_decision_hourly" ("bucket", "country_code", "n")
      SELECT date_trunc('hour', created_at, 'UTC') AS bucket, coalesce(country_code, '') AS country_code, -count(*) FROM old_rows GROUP BY 1, 2 ORDER BY 1, 2
      ON CONFLICT ("bucket", "country_code") DO UPDATE SET "n" = "stats_decision_hourly"."n" + EXCLUDED."n";
    INSERT INTO "stats_decision_daily" ("bucket", "country_code", "n")
      SELECT date_trunc('day', created_at, 'UTC') AS bucket, coalesce(country_code, '') AS country_code, -count(*) FROM old_rows GROUP BY 1, 2 ORDER BY 1, 2
      ON CONFLICT ("bucket", "country_code") DO UPDATE SET "n" = "stats_decision_daily"."n" + EXCLUDED."n";
  ELSE
    INSERT INTO "stats_decision_hourly" ("bucket", "country_code", "n")
      SELECT bucket, country_code, sum(d) FROM (
        SELECT date_trunc('hour', created_at, 'UTC') AS bucket, coalesce(country_code, '') AS country_code, 1 AS d FROM new_rows
        UNION ALL SELECT date_trunc('hour', created_at, 'UTC') AS bucket, coalesce(country_code, '') AS country_code, -1 FROM old_rows) x
      GROUP BY 1, 2 HAVING sum(d) <> 0 ORDER BY 1, 2
      ON CONFLICT ("bucket", "country_code") DO UPDATE SET "n" = "stats_decision_hourly"."n" + EXCLUDED."n";
    INSERT INTO "stats_decision_daily" ("bucket", "country_code", "n")
      SELECT bucket, country_code, sum(d) FROM (
        SELECT date_trunc('day', created_at, 'UTC') AS bucket, coalesce(country_code, '') AS country_code, 1 AS d FROM new_rows
        UNION ALL SELECT date_trunc('day', created_at, 'UTC') AS bucket, coalesce(country_code, '') AS country_code, -1 FROM old_rows) x
      GROUP BY 1, 2 HAVING sum(d) <> 0 ORDER BY 1, 2
      ON CONFLICT ("bucket", "country_code") DO UPDATE SET "n" = "stats_decision_daily"."n" + EXCLUDED."n";
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER "crowdsec_decisions_stats_insert" AFTER INSERT ON "crowdsec_decisions"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "crowdsec_decisions_stats_rollup"();
CREATE TRIGGER "crowdsec_decisions_stats_delete" AFTER DELETE ON "crowdsec_decisions"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "crowdsec_decisions_stats_rollup"();
CREATE TRIGGER "crowdsec_decisions_stats_update" AFTER UPDATE ON "crowdsec_decisions"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "crowdsec_decisions_stats_rollup"();
-- TRUNCATE fires no DELETE trigger: it empties the rollups of the table as well.
CREATE FUNCTION "crowdsec_decisions_stats_truncate"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "stats_decision_hourly";
  DELETE FROM "stats_decision_daily";
  RETURN NULL;
END
$$;
CREATE TRIGGER "crowdsec_decisions_stats_truncate" AFTER TRUNCATE ON "crowdsec_decisions"
  FOR EACH STATEMENT EXECUTE FUNCTION "crowdsec_decisions_stats_truncate"();

-- Rollups of threat_events. Rows are upserted in key order, so concurrent writers lock
-- rollup rows in one order and cannot deadlock on them.
CREATE FUNCTION "threat_events_stats_rollup"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO "stats_threat_hourly" ("bucket", "country_code", "category", "threat_type", "severity", "n")
      SELECT date_trunc('hour', occurred_at, 'UTC') AS bucket, coalesce(country_code, '') AS country_code, category AS category, threat_type AS threat_type, severity AS severity, count(*) FROM new_rows GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
      ON CONFLICT ("bucket", "country_code", "category", "threat_type", "severity") DO UPDATE SET "n" = "stats_threat_hourly"."n" + EXCLUDED."n";
    INSERT INTO "stats_threat_daily" ("bucket", "country_code", "category", "threat_type", "severity", "n")
      SELECT date_trunc('day', occurred_at, 'UTC') AS bucket, coalesce(country_code, '') AS country_code, category AS category, threat_type AS threat_type, severity AS severity, count(*) FROM new_rows GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
      ON CONFLICT ("bucket", "country_code", "category", "threat_type", "severity") DO UPDATE SET "n" = "stats_threat_daily"."n" + EXCLUDED."n";
    INSERT INTO "stats_threat_endpoint_daily" ("bucket", "country_code", "category", "threat_type", "severity", "source_ip", "destination_port", "n")
      SELECT date_trunc('day', occurred_at, 'UTC') AS bucket, coalesce(country_code, '') AS country_code, category AS category, threat_type AS threat_type, severity AS severity, source_ip AS source_ip, coalesce(destination_port, -1) AS destination_port, count(*) FROM new_rows GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5, 6, 7
      ON CONFLICT ("bucket", "country_code", "category", "threat_type", "severity", "source_ip", "destination_port") DO UPDATE SET "n" = "stats_threat_endpoint_daily"."n" + EXCLUDED."n";
    INSERT INTO "stats_threat_map_hourly" ("bucket", "country_code", "city", "latitude", "longitude", "approximate", "category", "severity", "n")
      SELECT date_trunc('hour', occurred_at, 'UTC') AS bucket, coalesce(country_code, '') AS country_code, coalesce(city, '') AS city, latitude AS latitude, longitude AS longitude, geo_approximate AS approximate, category AS category, severity AS severity, count(*) FROM new_rows WHERE latitude IS NOT NULL AND longitude IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
      ON CONFLICT ("bucket", "country_code", "city", "latitude", "longitude", "approximate", "category", "severity") DO UPDATE SET "n" = "stats_threat_map_hourly"."n" + EXCLUDED."n";
    INSERT INTO "stats_threat_map_daily" ("bucket", "country_code", "city", "latitude", "longitude", "approximate", "category", "severity", "n")
      SELECT date_trunc('day', occurred_at, 'UTC') AS bucket, coalesce(country_code, '') AS country_code, coalesce(city, '') AS city, latitude AS latitude, longitude AS longitude, geo_approximate AS approximate, category AS category, severity AS severity, count(*) FROM new_rows WHERE latitude IS NOT NULL AND longitude IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
      ON CONFLICT ("bucket", "country_code", "city", "latitude", "longitude", "approximate", "category", "severity") DO UPDATE SET "n" = "stats_threat_map_daily"."n" + EXCLUDED."n";
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO "stats_threat_hourly" ("bucket", "country_code", "category", "threat_type", "severity", "n")
      SELECT date_trunc('hour', occurred_at, 'UTC') AS bucket, coalesce(country_code, '') AS country_code, category AS category, threat_type AS threat_type, severity AS severity, -count(*) FROM old_rows GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
      ON CONFLICT ("bucket", "country_code", "category", "threat_type", "severity") DO UPDATE SET "n" = "stats_threat_hourly"."n" + EXCLUDED."n";
    INSERT INTO "stats_threat_daily" ("bucket", "country_code", "category", "threat_type", "severity", "n")
      SELECT date_trunc('day', occurred_at, 'UTC') AS bucket, coalesce(country_code, '') AS country_code, category AS category, threat_type AS threat_type, severity AS severity, -count(*) FROM old_rows GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
      ON CONFLICT ("bucket", "country_code", "category", "threat_type", "severity") DO UPDATE SET "n" = "stats_threat_daily"."n" + EXCLUDED."n";
    INSERT INTO "stats_threat_endpoint_daily" ("bucket", "country_code", "category", "threat_type", "severity", "source_ip", "destination_port", "n")
      SELECT date_trunc('day', occurred_at, 'UTC') AS bucket, coalesce(country_code, '') AS country_code, category AS category, threat_type AS threat_type, severity AS severity, source_ip AS source_ip, coalesce(destination_port, -1) AS destination_port, -count(*) FROM old_rows GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5, 6, 7
      ON CONFLICT ("bucket", "country_code", "category", "threat_type", "severity", "source_ip", "destination_port") DO UPDATE SET "n" = "stats_threat_endpoint_daily"."n" + EXCLUDED."n";
    INSERT INTO "stats_threat_map_hourly" ("bucket", "country_code", "city", "latitude", "longitude", "approximate", "category", "severity", "n")
      SELECT date_trunc('hour', occurred_at, 'UTC') AS bucket, coalesce(country_code, '') AS country_code, coalesce(city, '') AS city, latitude AS latitude, longitude AS longitude, geo_approximate AS approximate, category AS category, severity AS severity, -count(*) FROM old_rows WHERE latitude IS NOT NULL AND longitude IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
      ON CONFLICT ("bucket", "country_code", "city", "latitude", "longitude", "approximate", "category", "severity") DO UPDATE SET "n" = "stats_threat_map_hourly"."n" + EXCLUDED."n";
    INSERT INTO "stats_threat_map_daily" ("bucket", "country_code", "city", "latitude", "longitude", "approximate", "category", "severity", "n")
      SELECT date_trunc('day', occurred_at, 'UTC') AS bucket, coalesce(country_code, '') AS country_code, coalesce(city, '') AS city, latitude AS latitude, longitude AS longitude, geo_approximate AS approximate, category AS category, severity AS severity, -count(*) FROM old_rows WHERE latitude IS NOT NULL AND longitude IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
      ON CONFLICT ("bucket", "country_code", "city", "latitude", "longitude", "approximate", "category", "severity") DO UPDATE SET "n" = "stats_threat_map_daily"."n" + EXCLUDED."n";
  ELSE
    INSERT INTO "stats_threat_hourly" ("bucket", "country_code", "category", "threat_type", "severity", "n")
      SELECT bucket, country_code, category, threat_type, severity, sum(d) FROM (
        SELECT date_trunc('hour', occurred_at, 'UTC') AS bucket, coalesce(country_code, '') AS country_code, category AS category, threat_type AS threat_type, severity AS severity, 1 AS d FROM new_rows
        UNION ALL SELECT date_trunc('hour', occurred_at, 'UTC') AS bucket, coalesce(country_code, '') AS country_code, category AS category, threat_type AS threat_type, severity AS severity, -1 FROM old_rows) x
      GROUP BY 1, 2, 3, 4, 5 HAVING sum(d) <> 0 ORDER BY 1, 2, 3, 4, 5
      ON CONFLICT ("bucket", "country_code", "category", "threat_type", "severity") DO UPDATE SET "n" = "stats_threat_hourly"."n" + EXCLUDED."n";
    INSERT INTO "stats_threat_daily" ("bucket", "country_code", "category", "threat_type", "severity", "n")
      SELECT bucket, country_code, category, threat_type, severity, sum(d) FROM (
        SELECT date_trunc('day', occurred_at, 'UTC') AS bucket, coalesce(country_code, '') AS country_code, category AS category, threat_type AS threat_type, severity AS severity, 1 AS d FROM new_rows
        UNION ALL SELECT date_trunc('day', occurred_at, 'UTC') AS bucket, coalesce(country_code, '') AS country_code, category AS category, threat_type AS threat_type, severity AS severity, -1 FROM old_rows) x
      GROUP BY 1, 2, 3, 4, 5 HAVING sum(d) <> 0 ORDER BY 1, 2, 3, 4, 5
      ON CONFLICT ("bucket", "country_code", "category", "threat_type", "severity") DO UPDATE SET "n" = "stats_threat_daily"."n" + EXCLUDED."n";
    INSERT INTO "stats_threat_endpoint_daily" ("bucket", "country_code", "category", "threat_type", "severity", "source_ip", "destination_port", "n")
      SELECT bucket, country_code, category, threat_type, severity, source_ip, destination_port, sum(d) FROM (
        SELECT date_trunc('day', occurred_at, 'UTC') AS bucket, coalesce(country_code, '') AS country_code, category AS category, threat_type AS threat_type, severity AS severity, source_ip AS source_ip, coalesce(destination_port, -1) AS destination_port, 1 AS d FROM new_rows
        UNION ALL SELECT date_trunc('day', occurred_at, 'UTC') AS bucket, coalesce(country_code, '') AS country_code, category AS category, threat_type AS threat_type, severity AS severity, source_ip AS source_ip, coalesce(destination_port, -1) AS destination_port, -1 FROM old_rows) x
      GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING sum(d) <> 0 ORDER BY 1, 2, 3, 4, 5, 6, 7
      ON CONFLICT ("bucket", "country_code", "category", "threat_type", "severity", "source_ip", "destination_port") DO UPDATE SET "n" = "stats_threat_endpoint_daily"."n" + EXCLUDED."n";
    INSERT INTO "stats_threat_map_hourly" ("bucket", "country_code", "city", "latitude", "longitude", "approximate", "category", "severity", "n")
      SELECT bucket, country_code, city, latitude, longitude, approximate, category, severity, sum(d) FROM (
        SELECT date_trunc('hour', occurred_at, 'UTC') AS bucket, coalesce(country_code, '') AS country_code, coalesce(city, '') AS city, latitude AS latitude, longitude AS longitude, geo_approximate AS approximate, category AS category, severity AS severity, 1 AS d FROM new_rows WHERE latitude IS NOT NULL AND longitude IS NOT NULL
        UNION ALL SELECT date_trunc('hour', occurred_at, 'UTC') AS bucket, coalesce(country_code, '') AS country_code, coalesce(city, '') AS city, latitude AS latitude, longitude AS longitude, geo_approximate AS approximate, category AS category, severity AS severity, -1 FROM old_rows WHERE latitude IS NOT NULL AND longitude IS NOT NULL) x
      GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 HAVING sum(d) <> 0 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
      ON CONFLICT ("bucket", "country_code", "city", "latitude", "longitude", "approximate", "category", "severity") DO UPDATE SET "n" = "stats_threat_map_hourly"."n" + EXCLUDED."n";
    INSERT INTO "stats_threat_map_daily" ("bucket", "country_code", "city", "latitude", "longitude", "approximate", "category", "severity", "n")
      SELECT bucket, country_code, city, latitude, longitude, approximate, category, severity, sum(d) FROM (
        SELECT date_trunc('day', occurred_at, 'UTC') AS bucket, coalesce(country_code, '') AS country_code, coalesce(city, '') AS city, latitude AS latitude, longitude AS longitude, geo_approximate AS approximate, category AS category, severity AS severity, 1 AS d FROM new_rows WHERE latitude IS NOT NULL AND longitude IS NOT NULL
        UNION ALL SELECT date_trunc('day', occurred_at, 'UTC') AS bucket, coalesce(country_code, '') AS country_code, coalesce(city, '') AS city, latitude AS latitude, longitude AS longitude, geo_approximate AS approximate, category AS category, severity AS severity, -1 FROM old_rows WHERE latitude IS NOT NULL AND longitude IS NOT NULL) x
      GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 HAVING sum(d) <> 0 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
      ON CONFLICT ("bucket", "country_code", "city", "latitude", "longitude", "approximate", "category", "severity") DO UPDATE SET "n" = "stats_threat_map_daily"."n" + EXCLUDED."n";
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER "threat_events_stats_insert" AFTER INSERT ON "threat_events"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "threat_events_stats_rollup"();
CREATE TRIGGER "threat_events_stats_delete" AFTER DELETE ON "threat_events"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "threat_events_stats_rollup"();
CREATE TRIGGER "threat_events_stats_update" AFTER UPDATE ON "threat_events"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "threat_events_stats_rollup"();
-- TRUNCATE fires no DELETE trigger: it empties the rollups of the table as well.
CREATE FUNCTION "threat_events_stats_truncate"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "stats_threat_hourly";
  DELETE FROM "stats_threat_daily";
  DELETE FROM "stats_threat_endpoint_daily";
  DELETE FROM "stats_threat_map_hourly";
  DELETE FROM "stats_threat_map_daily";
  RETURN NULL;
END
$$;
CREATE TRIGGER "threat_events_stats_truncate" AFTER TRUNCATE ON "threat_events"
  FOR EACH STATEMENT EXECUTE FUNCTION "threat_events_stats_truncate"();

-- Backfill. The triggers above already hold their tables' write locks (this migration
-- is one transaction), so no row is written between the recount and the first trigger.

INSERT INTO "stats_alert_hourly" ("bucket", "country_code", "scenario", "n")
  SELECT date_trunc('hour', start_at, 'UTC'), coalesce(country_code, ''), scenario, count(*) FROM "crowdsec_alerts" GROUP BY 1, 2, 3;

INSERT INTO "stats_alert_daily" ("bucket", "country_code", "scenario", "n")
  SELECT date_trunc('day', start_at, 'UTC'), coalesce(country_code, ''), scenario, count(*) FROM "crowdsec_alerts" GROUP BY 1, 2, 3;

INSERT INTO "stats_alert_source_daily" ("bucket", "source_value", "scenario", "n")
  SELECT date_trunc('day', start_at, 'UTC'), source_value, scenario, count(*) FROM "crowdsec_alerts" GROUP BY 1, 2, 3;

INSERT INTO "stats_decision_hourly" ("bucket", "country_code", "n")
  SELECT date_trunc('hour', created_at, 'UTC'), coalesce(country_code, ''), count(*) FROM "crowdsec_decisions" GROUP BY 1, 2;

INSERT INTO "stats_decision_daily" ("bucket", "country_code", "n")
  SELECT date_trunc('day', created_at, 'UTC'), coalesce(country_code, ''), count(*) FROM "crowdsec_decisions" GROUP BY 1, 2;

INSERT INTO "stats_threat_hourly" ("bucket", "country_code", "category", "threat_type", "severity", "n")
  SELECT date_trunc('hour', occurred_at, 'UTC'), coalesce(country_code, ''), category, threat_type, severity, count(*) FROM "threat_events" GROUP BY 1, 2, 3, 4, 5;

INSERT INTO "stats_threat_daily" ("bucket", "country_code", "category", "threat_type", "severity", "n")
  SELECT date_trunc('day', occurred_at, 'UTC'), coalesce(country_code, ''), category, threat_type, severity, count(*) FROM "threat_events" GROUP BY 1, 2, 3, 4, 5;

INSERT INTO "stats_threat_endpoint_daily" ("bucket", "country_code", "category", "threat_type", "severity", "source_ip", "destination_port", "n")
  SELECT date_trunc('day', occurred_at, 'UTC'), coalesce(country_code, ''), category, threat_type, severity, source_ip, coalesce(destination_port, -1), count(*) FROM "threat_events" GROUP BY 1, 2, 3, 4, 5, 6, 7;

INSERT INTO "stats_threat_map_hourly" ("bucket", "country_code", "city", "latitude", "longitude", "approximate", "category", "severity", "n")
  SELECT date_trunc('hour', occurred_at, 'UTC'), coalesce(country_code, ''), coalesce(city, ''), latitude, longitude, geo_approximate, category, severity, count(*) FROM "threat_events" WHERE latitude IS NOT NULL AND longitude IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;

INSERT INTO "stats_threat_map_daily" ("bucket", "country_code", "city", "latitude", "longitude", "approximate", "category", "severity", "n")
  SELECT date_trunc('day', occurred_at, 'UTC'), coalesce(country_code, ''), coalesce(city, ''), latitude, longitude, geo_approximate, category, severity, count(*) FROM "threat_events" WHERE latitude IS NOT NULL AND longitude IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
