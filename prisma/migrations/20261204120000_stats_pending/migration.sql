-- Statistics rollups, second form: the writing statement no longer updates the rollup
-- tables itself. Its statement-level trigger appends one signed row per written row
-- (+1 inserted, -1 deleted, -1/+1 for an UPDATE that changed a counted column) to the
-- table's *_pending journal, which is indexed only by its serial id: an append costs a small fraction of the
-- ordered upserts into five rollups that the triggers of `stats_rollups` ran, and which
-- had halved the insert rate. A compaction function moves pending rows into the rollups
-- (DELETE … RETURNING feeding the upserts, one statement, so each row is counted in
-- exactly one of journal and rollups at every snapshot); a worker calls it every second.
-- Readers add the journal rows of their window to the rollup buckets in the same
-- statement (src/platform/rollup-window.ts), so answers stay exact whether or not
-- compaction has run. Compaction takes journal rows in id order, and a row's -1 is
-- always written after its +1 committed, so a rollup count never goes below zero.
-- Advisory lock keys of compaction: (0x74770003 = 1953955843, 1 alerts | 2 decisions | 3 threats).


DROP TRIGGER "crowdsec_alerts_stats_insert" ON "crowdsec_alerts";
DROP TRIGGER "crowdsec_alerts_stats_delete" ON "crowdsec_alerts";
DROP TRIGGER "crowdsec_alerts_stats_update" ON "crowdsec_alerts";
DROP TRIGGER "crowdsec_alerts_stats_truncate" ON "crowdsec_alerts";
DROP FUNCTION "crowdsec_alerts_stats_rollup"();
DROP FUNCTION "crowdsec_alerts_stats_truncate"();

-- The rows of crowdsec_alerts written since the last compaction, as signed counts, in the order written.
CREATE TABLE "stats_alert_pending" (
  "id" BIGSERIAL NOT NULL,
  "at" timestamptz(3) NOT NULL,
  "country_code" varchar(2) NOT NULL,
  "scenario" text NOT NULL,
  "source_value" varchar(255) NOT NULL,
  "n" integer NOT NULL,
  CONSTRAINT "stats_alert_pending_pkey" PRIMARY KEY ("id")
);

CREATE FUNCTION "crowdsec_alerts_stats_journal"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO "stats_alert_pending" ("at", "country_code", "scenario", "source_value", "n") SELECT start_at, coalesce(country_code, ''), scenario, source_value, 1 FROM new_rows;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO "stats_alert_pending" ("at", "country_code", "scenario", "source_value", "n") SELECT start_at, coalesce(country_code, ''), scenario, source_value, -1 FROM old_rows;
  ELSE
    -- Only rows whose counted columns changed; ids never change.
    INSERT INTO "stats_alert_pending" ("at", "country_code", "scenario", "source_value", "n")
      SELECT x.* FROM old_rows o JOIN new_rows w ON w.id = o.id,
        LATERAL (VALUES (o.start_at, coalesce(o.country_code, ''), o.scenario, o.source_value, -1), (w.start_at, coalesce(w.country_code, ''), w.scenario, w.source_value, 1)) AS x
      WHERE (o.start_at, coalesce(o.country_code, ''), o.scenario, o.source_value) IS DISTINCT FROM (w.start_at, coalesce(w.country_code, ''), w.scenario, w.source_value);
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER "crowdsec_alerts_stats_insert" AFTER INSERT ON "crowdsec_alerts"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "crowdsec_alerts_stats_journal"();
CREATE TRIGGER "crowdsec_alerts_stats_delete" AFTER DELETE ON "crowdsec_alerts"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "crowdsec_alerts_stats_journal"();
CREATE TRIGGER "crowdsec_alerts_stats_update" AFTER UPDATE ON "crowdsec_alerts"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "crowdsec_alerts_stats_journal"();

-- TRUNCATE fires no DELETE trigger: it empties the rollups and the journal as well.
CREATE FUNCTION "crowdsec_alerts_stats_truncate"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "stats_alert_hourly";
  DELETE FROM "stats_alert_daily";
  DELETE FROM "stats_alert_source_daily";
  DELETE FROM "stats_alert_pending";
  RETURN NULL;
END
$$;
CREATE TRIGGER "crowdsec_alerts_stats_truncate" AFTER TRUNCATE ON "crowdsec_alerts"
  FOR EACH STATEMENT EXECUTE FUNCTION "crowdsec_alerts_stats_truncate"();

-- Moves up to max_rows journal rows of crowdsec_alerts into its rollups and returns how many it
-- moved, or -1 when another session is compacting them now. Upserts go in key order.
CREATE FUNCTION "stats_alert_pending_compact"("max_rows" integer) RETURNS integer LANGUAGE plpgsql AS $$
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
    INSERT INTO "stats_alert_source_daily" ("bucket", "source_value", "scenario", "n")
      SELECT date_trunc('day', at, 'UTC'), source_value, scenario, sum(n) FROM moved GROUP BY 1, 2, 3 HAVING sum(n) <> 0 ORDER BY 1, 2, 3
      ON CONFLICT ("bucket", "source_value", "scenario") DO UPDATE SET "n" = "stats_alert_source_daily"."n" + EXCLUDED."n")
  SELECT count(*) INTO moved_rows FROM moved;
  RETURN moved_rows;
END
$$;


DROP TRIGGER "crowdsec_decisions_stats_insert" ON "crowdsec_decisions";
DROP TRIGGER "crowdsec_decisions_stats_delete" ON "crowdsec_decisions";
DROP TRIGGER "crowdsec_decisions_stats_update" ON "crowdsec_decisions";
DROP TRIGGER "crowdsec_decisions_stats_truncate" ON "crowdsec_decisions";
DROP FUNCTION "crowdsec_decisions_stats_rollup"();
DROP FUNCTION "crowdsec_decisions_stats_truncate"();

-- The rows of crowdsec_decisions written since the last compaction, as signed counts, in the order written.
CREATE TABLE "stats_decision_pending" (
  "id" BIGSERIAL NOT NULL,
  "at" timestamptz(3) NOT NULL,
  "country_code" varchar(2) NOT NULL,
  "n" integer NOT NULL,
  CONSTRAINT "stats_decision_pending_pkey" PRIMARY KEY ("id")
);

CREATE FUNCTION "crowdsec_decisions_stats_journal"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO "stats_decision_pending" ("at", "country_code", "n") SELECT created_at, coalesce(country_code, ''), 1 FROM new_rows;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO "stats_decision_pending" ("at", "country_code", "n") SELECT created_at, coalesce(country_code, ''), -1 FROM old_rows;
  ELSE
    -- Only rows whose counted columns changed; ids never change.
    INSERT INTO "stats_decision_pending" ("at", "country_code", "n")
      SELECT x.* FROM old_rows o JOIN new_rows w ON w.id = o.id,
        LATERAL (VALUES (o.created_at, coalesce(o.country_code, ''), -1), (w.created_at, coalesce(w.country_code, ''), 1)) AS x
      WHERE (o.created_at, coalesce(o.country_code, '')) IS DISTINCT FROM (w.created_at, coalesce(w.country_code, ''));
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER "crowdsec_decisions_stats_insert" AFTER INSERT ON "crowdsec_decisions"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "crowdsec_decisions_stats_journal"();
CREATE TRIGGER "crowdsec_decisions_stats_delete" AFTER DELETE ON "crowdsec_decisions"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "crowdsec_decisions_stats_journal"();
CREATE TRIGGER "crowdsec_decisions_stats_update" AFTER UPDATE ON "crowdsec_decisions"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "crowdsec_decisions_stats_journal"();

-- TRUNCATE fires no DELETE trigger: it empties the rollups and the journal as well.
CREATE FUNCTION "crowdsec_decisions_stats_truncate"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "stats_decision_hourly";
  DELETE FROM "stats_decision_daily";
  DELETE FROM "stats_decision_pending";
  RETURN NULL;
END
$$;
CREATE TRIGGER "crowdsec_decisions_stats_truncate" AFTER TRUNCATE ON "crowdsec_decisions"
  FOR EACH STATEMENT EXECUTE FUNCTION "crowdsec_decisions_stats_truncate"();

-- Moves up to max_rows journal rows of crowdsec_decisions into its rollups and returns how many it
-- moved, or -1 when another session is compacting them now. Upserts go in key order.
CREATE FUNCTION "stats_decision_pending_compact"("max_rows" integer) RETURNS integer LANGUAGE plpgsql AS $$
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
      ON CONFLICT ("bucket", "country_code") DO UPDATE SET "n" = "stats_decision_daily"."n" + EXCLUDED."n")
  SELECT count(*) INTO moved_rows FROM moved;
  RETURN moved_rows;
END
$$;


DROP TRIGGER "threat_events_stats_insert" ON "threat_events";
DROP TRIGGER "threat_events_stats_delete" ON "threat_events";
DROP TRIGGER "threat_events_stats_update" ON "threat_events";
DROP TRIGGER "threat_events_stats_truncate" ON "threat_events";
DROP FUNCTION "threat_events_stats_rollup"();
DROP FUNCTION "threat_events_stats_truncate"();

-- The rows of threat_events written since the last compaction, as signed counts, in the order written.
CREATE TABLE "stats_threat_pending" (
  "id" BIGSERIAL NOT NULL,
  "at" timestamptz(3) NOT NULL,
  "country_code" varchar(2) NOT NULL,
  "category" "ThreatCategory" NOT NULL,
  "threat_type" varchar(200) NOT NULL,
  "severity" smallint NOT NULL,
  "source_ip" inet NOT NULL,
  "destination_port" integer NOT NULL,
  "city" varchar(200) NOT NULL,
  "latitude" double precision,
  "longitude" double precision,
  "approximate" boolean NOT NULL,
  "n" integer NOT NULL,
  CONSTRAINT "stats_threat_pending_pkey" PRIMARY KEY ("id")
);

CREATE FUNCTION "threat_events_stats_journal"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO "stats_threat_pending" ("at", "country_code", "category", "threat_type", "severity", "source_ip", "destination_port", "city", "latitude", "longitude", "approximate", "n") SELECT occurred_at, coalesce(country_code, ''), category, threat_type, severity, source_ip, coalesce(destination_port, -1), coalesce(city, ''), latitude, longitude, geo_approximate, 1 FROM new_rows;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO "stats_threat_pending" ("at", "country_code", "category", "threat_type", "severity", "source_ip", "destination_port", "city", "latitude", "longitude", "approximate", "n") SELECT occurred_at, coalesce(country_code, ''), category, threat_type, severity, source_ip, coalesce(destination_port, -1), coalesce(city, ''), latitude, longitude, geo_approximate, -1 FROM old_rows;
  ELSE
    -- Only rows whose counted columns changed; ids never change.
    INSERT INTO "stats_threat_pending" ("at", "country_code", "category", "threat_type", "severity", "source_ip", "destination_port", "city", "latitude", "longitude", "approximate", "n")
      SELECT x.* FROM old_rows o JOIN new_rows w ON w.id = o.id,
        LATERAL (VALUES (o.occurred_at, coalesce(o.country_code, ''), o.category, o.threat_type, o.severity, o.source_ip, coalesce(o.destination_port, -1), coalesce(o.city, ''), o.latitude, o.longitude, o.geo_approximate, -1), (w.occurred_at, coalesce(w.country_code, ''), w.category, w.threat_type, w.severity, w.source_ip, coalesce(w.destination_port, -1), coalesce(w.city, ''), w.latitude, w.longitude, w.geo_approximate, 1)) AS x
      WHERE (o.occurred_at, coalesce(o.country_code, ''), o.category, o.threat_type, o.severity, o.source_ip, coalesce(o.destination_port, -1), coalesce(o.city, ''), o.latitude, o.longitude, o.geo_approximate) IS DISTINCT FROM (w.occurred_at, coalesce(w.country_code, ''), w.category, w.threat_type, w.severity, w.source_ip, coalesce(w.destination_port, -1), coalesce(w.city, ''), w.latitude, w.longitude, w.geo_approximate);
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER "threat_events_stats_insert" AFTER INSERT ON "threat_events"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "threat_events_stats_journal"();
CREATE TRIGGER "threat_events_stats_delete" AFTER DELETE ON "threat_events"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "threat_events_stats_journal"();
CREATE TRIGGER "threat_events_stats_update" AFTER UPDATE ON "threat_events"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "threat_events_stats_journal"();

-- TRUNCATE fires no DELETE trigger: it empties the rollups and the journal as well.
CREATE FUNCTION "threat_events_stats_truncate"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "stats_threat_hourly";
  DELETE FROM "stats_threat_daily";
  DELETE FROM "stats_threat_endpoint_daily";
  DELETE FROM "stats_threat_map_hourly";
  DELETE FROM "stats_threat_map_daily";
  DELETE FROM "stats_threat_pending";
  RETURN NULL;
END
$$;
CREATE TRIGGER "threat_events_stats_truncate" AFTER TRUNCATE ON "threat_events"
  FOR EACH STATEMENT EXECUTE FUNCTION "threat_events_stats_truncate"();

-- Moves up to max_rows journal rows of threat_events into its rollups and returns how many it
-- moved, or -1 when another session is compacting them now. Upserts go in key order.
CREATE FUNCTION "stats_threat_pending_compact"("max_rows" integer) RETURNS integer LANGUAGE plpgsql AS $$
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
    INSERT INTO "stats_threat_endpoint_daily" ("bucket", "country_code", "category", "threat_type", "severity", "source_ip", "destination_port", "n")
      SELECT date_trunc('day', at, 'UTC'), country_code, category, threat_type, severity, source_ip, destination_port, sum(n) FROM moved GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING sum(n) <> 0 ORDER BY 1, 2, 3, 4, 5, 6, 7
      ON CONFLICT ("bucket", "country_code", "category", "threat_type", "severity", "source_ip", "destination_port") DO UPDATE SET "n" = "stats_threat_endpoint_daily"."n" + EXCLUDED."n"),
  r3 AS (
    INSERT INTO "stats_threat_map_hourly" ("bucket", "country_code", "city", "latitude", "longitude", "approximate", "category", "severity", "n")
      SELECT date_trunc('hour', at, 'UTC'), country_code, city, latitude, longitude, approximate, category, severity, sum(n) FROM moved WHERE latitude IS NOT NULL AND longitude IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 HAVING sum(n) <> 0 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
      ON CONFLICT ("bucket", "country_code", "city", "latitude", "longitude", "approximate", "category", "severity") DO UPDATE SET "n" = "stats_threat_map_hourly"."n" + EXCLUDED."n"),
  r4 AS (
    INSERT INTO "stats_threat_map_daily" ("bucket", "country_code", "city", "latitude", "longitude", "approximate", "category", "severity", "n")
      SELECT date_trunc('day', at, 'UTC'), country_code, city, latitude, longitude, approximate, category, severity, sum(n) FROM moved WHERE latitude IS NOT NULL AND longitude IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 HAVING sum(n) <> 0 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
      ON CONFLICT ("bucket", "country_code", "city", "latitude", "longitude", "approximate", "category", "severity") DO UPDATE SET "n" = "stats_threat_map_daily"."n" + EXCLUDED."n")
  SELECT count(*) INTO moved_rows FROM moved;
  RETURN moved_rows;
END
$$;
