-- Narrow rollups of threat events by source IP alone and by destination port alone, per
-- day, week (from Monday) and month, UTC: threatStats(groupBy: [SOURCE_IP]) or
-- [DESTINATION_PORT] (and threatTimeSeries by either, in days) read them instead of the
-- endpoint rollups, whose rows also carry country, category, threat type and severity
-- and are therefore many times as numerous for the same window. Like the endpoint family
-- they have no hourly level: a window's partial days are counted from the rows.
--
-- Backfill from the endpoint rollups, not from threat_events: each new table is its
-- endpoint table of the same level summed over the other key columns, a few seconds even
-- on ten million events. The journal is NOT compacted first and this migration does not
-- block writers: it holds the threat journal's compaction lock (the advisory lock the
-- compaction function try-locks; it waits for a compaction in progress to commit) from
-- here to its commit, so no journal row moves into the endpoint rollups in between. The
-- endpoint tables read below then hold exactly the rows whose journal rows are gone,
-- the journal holds the rest (including rows written while this migration runs), and
-- the compaction function replaced at the end moves those into the narrow tables as
-- well as into all the others: every row counted once, in the journal or in the
-- rollups, as before. ACCESS SHARE on threat_events keeps a TRUNCATE (whose trigger
-- would not know the new tables yet) out until this commits; inserts and deletes go on.
-- Each primary key is built after its table is filled: one sort instead of an index
-- insert per row, about half the time (1,000,000 events: 774,000 source-day rows). The
-- rows go in in key order, i.e. by bucket, as the compaction later appends them: a
-- hashed GROUP BY's order scattered each day's rows over the whole table (at 10,000,000
-- events, 20,000 pages read for one 4-day stretch of 45,000 rows instead of 300).
LOCK TABLE "threat_events" IN ACCESS SHARE MODE;
SELECT pg_advisory_xact_lock(1953955843, 3);

CREATE TABLE "stats_threat_source_daily" (
  "bucket" timestamptz(3) NOT NULL,
  "source_ip" inet NOT NULL,
  "n" integer NOT NULL
);
INSERT INTO "stats_threat_source_daily" ("bucket", "source_ip", "n")
  SELECT bucket, source_ip, sum(n) FROM "stats_threat_endpoint_daily" GROUP BY 1, 2 HAVING sum(n) <> 0 ORDER BY 1, 2;
ALTER TABLE "stats_threat_source_daily" ADD CONSTRAINT "stats_threat_source_daily_pkey" PRIMARY KEY ("bucket", "source_ip");

CREATE TABLE "stats_threat_source_weekly" (
  "bucket" timestamptz(3) NOT NULL,
  "source_ip" inet NOT NULL,
  "n" integer NOT NULL
);
INSERT INTO "stats_threat_source_weekly" ("bucket", "source_ip", "n")
  SELECT bucket, source_ip, sum(n) FROM "stats_threat_endpoint_weekly" GROUP BY 1, 2 HAVING sum(n) <> 0 ORDER BY 1, 2;
ALTER TABLE "stats_threat_source_weekly" ADD CONSTRAINT "stats_threat_source_weekly_pkey" PRIMARY KEY ("bucket", "source_ip");

CREATE TABLE "stats_threat_source_monthly" (
  "bucket" timestamptz(3) NOT NULL,
  "source_ip" inet NOT NULL,
  "n" integer NOT NULL
);
INSERT INTO "stats_threat_source_monthly" ("bucket", "source_ip", "n")
  SELECT bucket, source_ip, sum(n) FROM "stats_threat_endpoint_monthly" GROUP BY 1, 2 HAVING sum(n) <> 0 ORDER BY 1, 2;
ALTER TABLE "stats_threat_source_monthly" ADD CONSTRAINT "stats_threat_source_monthly_pkey" PRIMARY KEY ("bucket", "source_ip");

CREATE TABLE "stats_threat_port_daily" (
  "bucket" timestamptz(3) NOT NULL,
  "destination_port" integer NOT NULL,
  "n" integer NOT NULL
);
INSERT INTO "stats_threat_port_daily" ("bucket", "destination_port", "n")
  SELECT bucket, destination_port, sum(n) FROM "stats_threat_endpoint_daily" GROUP BY 1, 2 HAVING sum(n) <> 0 ORDER BY 1, 2;
ALTER TABLE "stats_threat_port_daily" ADD CONSTRAINT "stats_threat_port_daily_pkey" PRIMARY KEY ("bucket", "destination_port");

CREATE TABLE "stats_threat_port_weekly" (
  "bucket" timestamptz(3) NOT NULL,
  "destination_port" integer NOT NULL,
  "n" integer NOT NULL
);
INSERT INTO "stats_threat_port_weekly" ("bucket", "destination_port", "n")
  SELECT bucket, destination_port, sum(n) FROM "stats_threat_endpoint_weekly" GROUP BY 1, 2 HAVING sum(n) <> 0 ORDER BY 1, 2;
ALTER TABLE "stats_threat_port_weekly" ADD CONSTRAINT "stats_threat_port_weekly_pkey" PRIMARY KEY ("bucket", "destination_port");

CREATE TABLE "stats_threat_port_monthly" (
  "bucket" timestamptz(3) NOT NULL,
  "destination_port" integer NOT NULL,
  "n" integer NOT NULL
);
INSERT INTO "stats_threat_port_monthly" ("bucket", "destination_port", "n")
  SELECT bucket, destination_port, sum(n) FROM "stats_threat_endpoint_monthly" GROUP BY 1, 2 HAVING sum(n) <> 0 ORDER BY 1, 2;
ALTER TABLE "stats_threat_port_monthly" ADD CONSTRAINT "stats_threat_port_monthly_pkey" PRIMARY KEY ("bucket", "destination_port");

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
      ON CONFLICT ("bucket", "country_code", "city", "latitude", "longitude", "approximate", "category", "severity") DO UPDATE SET "n" = "stats_threat_map_monthly"."n" + EXCLUDED."n"),
  r9 AS (
    INSERT INTO "stats_threat_source_daily" ("bucket", "source_ip", "n")
      SELECT date_trunc('day', at, 'UTC'), source_ip, sum(n) FROM moved GROUP BY 1, 2 HAVING sum(n) <> 0 ORDER BY 1, 2
      ON CONFLICT ("bucket", "source_ip") DO UPDATE SET "n" = "stats_threat_source_daily"."n" + EXCLUDED."n"),
  r10 AS (
    INSERT INTO "stats_threat_source_weekly" ("bucket", "source_ip", "n")
      SELECT date_trunc('week', at, 'UTC'), source_ip, sum(n) FROM moved GROUP BY 1, 2 HAVING sum(n) <> 0 ORDER BY 1, 2
      ON CONFLICT ("bucket", "source_ip") DO UPDATE SET "n" = "stats_threat_source_weekly"."n" + EXCLUDED."n"),
  r11 AS (
    INSERT INTO "stats_threat_source_monthly" ("bucket", "source_ip", "n")
      SELECT date_trunc('month', at, 'UTC'), source_ip, sum(n) FROM moved GROUP BY 1, 2 HAVING sum(n) <> 0 ORDER BY 1, 2
      ON CONFLICT ("bucket", "source_ip") DO UPDATE SET "n" = "stats_threat_source_monthly"."n" + EXCLUDED."n"),
  r12 AS (
    INSERT INTO "stats_threat_port_daily" ("bucket", "destination_port", "n")
      SELECT date_trunc('day', at, 'UTC'), destination_port, sum(n) FROM moved GROUP BY 1, 2 HAVING sum(n) <> 0 ORDER BY 1, 2
      ON CONFLICT ("bucket", "destination_port") DO UPDATE SET "n" = "stats_threat_port_daily"."n" + EXCLUDED."n"),
  r13 AS (
    INSERT INTO "stats_threat_port_weekly" ("bucket", "destination_port", "n")
      SELECT date_trunc('week', at, 'UTC'), destination_port, sum(n) FROM moved GROUP BY 1, 2 HAVING sum(n) <> 0 ORDER BY 1, 2
      ON CONFLICT ("bucket", "destination_port") DO UPDATE SET "n" = "stats_threat_port_weekly"."n" + EXCLUDED."n"),
  r14 AS (
    INSERT INTO "stats_threat_port_monthly" ("bucket", "destination_port", "n")
      SELECT date_trunc('month', at, 'UTC'), destination_port, sum(n) FROM moved GROUP BY 1, 2 HAVING sum(n) <> 0 ORDER BY 1, 2
      ON CONFLICT ("bucket", "destination_port") DO UPDATE SET "n" = "stats_threat_port_monthly"."n" + EXCLUDED."n")
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
  DELETE FROM "stats_threat_source_daily";
  DELETE FROM "stats_threat_source_weekly";
  DELETE FROM "stats_threat_source_monthly";
  DELETE FROM "stats_threat_port_daily";
  DELETE FROM "stats_threat_port_weekly";
  DELETE FROM "stats_threat_port_monthly";
  DELETE FROM "stats_threat_pending";
  RETURN NULL;
END
$$;
