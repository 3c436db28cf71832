-- The address an IOC names, for allowlist CIDR coverage: the value of an IPv4 or IPv6
-- IOC, the host of a URL whose host is an address, null otherwise. Set when the IOC is
-- registered (src/iocs/allowlist.ts hostAddress, the same reading the scoring uses) and
-- never changed after (an IOC's type and value never change). The GiST index answers
-- "which IOCs does 10.20.0.0/16 cover" (host_ip <<= entry) without casting every value.
ALTER TABLE "iocs" ADD COLUMN "host_ip" INET;

-- Existing IOCs. Values are stored canonical (src/iocs/parse-*.ts): an IPv4 or IPv6 IOC
-- is an address as is, a URL's host an IPv4 dotted quad or a bracketed IPv6 address. A
-- text that does not cast is left null rather than failing the migration.
CREATE FUNCTION pg_temp.try_inet(t TEXT) RETURNS INET LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RETURN t::inet;
EXCEPTION WHEN others THEN
  RETURN NULL;
END $$;
UPDATE "iocs" SET "host_ip" = pg_temp.try_inet(
  CASE WHEN "type" IN ('IPV4', 'IPV6') THEN "value"
       ELSE COALESCE(
         substring("value" FROM '^[a-z][a-z0-9+.-]*://\[([0-9a-fA-F:.]+)\](?:[:/?#]|$)'),
         substring("value" FROM '^[a-z][a-z0-9+.-]*://([0-9]{1,3}(?:\.[0-9]{1,3}){3})(?:[:/?#]|$)'))
  END)
WHERE "type" IN ('IPV4', 'IPV6', 'URL');

CREATE INDEX "iocs_host_ip_idx" ON "iocs" USING GIST ("host_ip" inet_ops);
-- Removing an entry also re-scores the IOCs it covered when last scored
-- (allowlisted_by @> {"id": …}), from this index.
CREATE INDEX "iocs_allowlisted_by_idx" ON "iocs" USING GIN ("allowlisted_by" jsonb_path_ops);
