-- A key that reads the feeds (/feeds/*) and nothing else: firewalls that pull blocklists
-- get one, so their key cannot read the GraphQL API. Set when the key is created, never
-- changed.
ALTER TABLE "api_keys" ADD COLUMN "feeds_only" BOOLEAN NOT NULL DEFAULT false;
