/**
 * LapiClient against a real CrowdSec LAPI (one per file). Each test uses its own
 * addresses, and the stream test its own bouncer, so the tests do not depend on order.
 */
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGoDuration } from '../../src/crowdsec/go-duration.js';
import { LapiClient, type LapiClientOptions } from '../../src/crowdsec/lapi-client.js';
import { LapiError, manualBanAlert, parseLapiTime, type NewAlert } from '../../src/crowdsec/lapi-types.js';
import { lapiOrSkip, startLapi, type Lapi } from '../helpers/crowdsec-lapi.js';

const bins = lapiOrSkip('CrowdSec LAPI client');

interface CscliAlert {
  id: number;
  machine_id: string;
  scenario: string;
  decisions:
    { id: number; value: string; scope: string; origin: string; scenario: string; type: string }[] | null;
}

describe.skipIf(!bins)('LapiClient against a real LAPI 1.4', () => {
  let lapi: Lapi;
  let client: LapiClient;
  const options = (): LapiClientOptions => ({
    baseUrl: lapi.url,
    bouncerKey: lapi.bouncerKey,
    machineId: lapi.machineId,
    machinePassword: lapi.machinePassword,
    userAgent: 'threatwire/0.1.0',
    timeoutMs: 5_000,
    logger: pino({ level: 'silent' }),
  });
  const decisionsFor = async (value: string) => {
    const alerts = JSON.parse(await lapi.cscli(['decisions', 'list', '-o', 'json', '--ip', value])) as
      CscliAlert[] | null;
    return (alerts ?? []).flatMap((a) => (a.decisions ?? []).map((d) => ({ ...d, alert: a })));
  };

  beforeAll(async () => {
    lapi = await startLapi();
    client = new LapiClient(options());
  });
  afterAll(async () => {
    await lapi?.stop();
  });

  it('streams a startup snapshot, then cscli additions as new and deletions as deleted', async () => {
    const key = randomBytes(16).toString('hex');
    await lapi.cscli(['bouncers', 'add', `stream-${key.slice(0, 6)}`, '-k', key]);
    const bouncer = new LapiClient({ ...options(), bouncerKey: key });

    const startup = await bouncer.decisionsStream({ startup: true });
    expect(Array.isArray(startup.new) && Array.isArray(startup.deleted)).toBe(true);
    expect(startup.new.find((d) => d.value === '1.2.3.4')).toBeUndefined();

    await lapi.cscli(['decisions', 'add', '--ip', '1.2.3.4', '--duration', '4h', '--reason', 'test']);
    const added = await bouncer.decisionsStream({ startup: false });
    const decision = added.new.find((d) => d.value === '1.2.3.4');
    expect(decision).toMatchObject({ origin: 'cscli', type: 'ban', scope: 'Ip', scenario: 'test' });
    const remaining = parseGoDuration(decision?.duration ?? '');
    expect(remaining).toBeGreaterThan(4 * 3_600_000 - 60_000);
    expect(remaining).toBeLessThanOrEqual(4 * 3_600_000);
    // Decisions other tests deleted before this bouncer's first pull may come in its first
    // delta (the tests run in any order); none of them is ours, and all are expired.
    expect(added.deleted.filter((d) => d.value === '1.2.3.4')).toEqual([]);
    for (const d of added.deleted) expect(parseGoDuration(d.duration)).toBeLessThan(0);

    await lapi.cscli(['decisions', 'delete', '--ip', '1.2.3.4']);
    const removed = await bouncer.decisionsStream({ startup: false });
    const gone = removed.deleted.find((d) => d.id === decision?.id);
    expect(gone).toMatchObject({ value: '1.2.3.4', scenario: 'test' });
    expect(parseGoDuration(gone?.duration ?? '')).toBeLessThan(0); // deleted = expired now
    expect(removed.new).toEqual([]);
  });

  it('bans through a posted alert the way cscli does, and deletes the decision', async () => {
    const ids = await client.postAlerts([
      manualBanAlert({ value: '198.51.100.7', duration: '4h', reason: 'threatwire test ban' }),
    ]);
    expect(ids).toHaveLength(1);
    expect(ids[0]).toMatch(/^\d+$/);

    const [listed, ...others] = await decisionsFor('198.51.100.7');
    expect(others).toEqual([]);
    expect(listed).toMatchObject({
      origin: 'cscli',
      type: 'ban',
      scope: 'Ip',
      scenario: 'threatwire test ban',
    });
    expect(listed?.alert).toMatchObject({ id: Number(ids[0]), machine_id: lapi.machineId });

    expect(await client.deleteDecision(listed?.id ?? -1)).toBe(1);
    expect(await decisionsFor('198.51.100.7')).toEqual([]);
    expect(await client.deleteDecision(987_654)).toBe(0);
  });

  it('bans a range with a normalised scope', async () => {
    await client.postAlerts([
      manualBanAlert({ value: '203.0.113.0/24', scope: 'range', duration: '90m', reason: 'range ban' }),
    ]);
    const alerts = JSON.parse(
      await lapi.cscli(['decisions', 'list', '-o', 'json', '--range', '203.0.113.0/24']),
    ) as CscliAlert[];
    expect(alerts[0]?.decisions?.[0]).toMatchObject({ scope: 'Range', value: '203.0.113.0/24' });
  });

  it('returns posted alerts with their source, events and decisions', async () => {
    const startAt = new Date(Date.now() - 30_000);
    startAt.setMilliseconds(0);
    const alert: NewAlert = {
      scenario: 'crowdsecurity/ssh-bf',
      scenario_hash: 'abc123',
      scenario_version: '0.3',
      message: 'Ip 192.0.2.44 performed crowdsecurity/ssh-bf (6 events over 12s)',
      events_count: 6,
      events: [{ timestamp: startAt.toISOString(), meta: [{ key: 'source_ip', value: '192.0.2.44' }] }],
      capacity: 5,
      leakspeed: '10s',
      simulated: false,
      start_at: startAt.toISOString(),
      stop_at: new Date(startAt.getTime() + 12_000).toISOString(),
      source: {
        scope: 'Ip',
        value: '192.0.2.44',
        ip: '192.0.2.44',
        range: '192.0.2.0/24',
        as_number: '64500',
        as_name: 'EXAMPLE-AS',
        cn: 'FR',
        latitude: 48.85,
        longitude: 2.35,
      },
    };
    const [id] = await client.postAlerts([alert]);
    const found = (await client.alerts({ since: '1h', value: '192.0.2.44' })).find(
      (a) => String(a.id) === id,
    );
    expect(found).toMatchObject({
      machine_id: lapi.machineId,
      scenario: 'crowdsecurity/ssh-bf',
      scenario_version: '0.3',
      message: alert.message,
      events_count: 6,
      simulated: false,
      decisions: [], // no remediation asked: 1.4 sends null
      source: alert.source,
    });
    // 1.4 writes start_at, stop_at and event timestamps in Go's time.String() layout.
    expect(found?.start_at).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \+0000 UTC$/);
    expect(parseLapiTime(found?.start_at ?? '')).toEqual(startAt);
    expect(parseLapiTime(found?.events[0]?.timestamp ?? '')).toEqual(startAt);
    expect(found?.events[0]?.meta).toEqual([{ key: 'source_ip', value: '192.0.2.44' }]);
    expect(parseLapiTime(found?.created_at ?? '')?.getTime()).toBeGreaterThan(Date.now() - 60_000);
    // In 1.4 the `ip` filter matches the alert's decisions, so an alert without any is not found by it.
    expect(await client.alerts({ since: '1h', ip: '192.0.2.44' })).toEqual([]);

    // `since` counts from start_at: an alert that started 2 h ago is outside `since=1h`.
    const old = { ...alert, start_at: new Date(Date.now() - 2 * 3_600_000).toISOString() };
    const [oldId] = await client.postAlerts([
      { ...old, source: { scope: 'Ip', value: '192.0.2.45', ip: '192.0.2.45' } },
    ]);
    expect((await client.alerts({ since: '1h', value: '192.0.2.45' })).map((a) => String(a.id))).toEqual([]);
    expect((await client.alerts({ since: '3h', value: '192.0.2.45' })).map((a) => String(a.id))).toEqual([
      oldId,
    ]);
  });

  it('turns the LAPI’s 500-for-bad-input into BAD_REQUEST', async () => {
    const bad = manualBanAlert({ value: '198.51.100.9', duration: '1h', reason: 'days are refused' });
    const withDays = { ...bad, decisions: bad.decisions?.map((d) => ({ ...d, duration: '1d' })) };
    const err = await client.postAlerts([withDays]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LapiError);
    expect(err).toMatchObject({ kind: 'BAD_REQUEST', status: 500 });
    expect((err as LapiError).lapiMessage).toMatch(/duration/);

    await expect(client.alerts({ since: 'yesterday' })).rejects.toMatchObject({ kind: 'BAD_REQUEST' });
  });
});
