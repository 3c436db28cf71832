import type { AlertInput } from '../../src/crowdsec/alert-repository.js';
import { NO_GEO } from '../../src/crowdsec/crowdsec-geo.js';

/**
 * An alert as the alerts poller stores it (AlertRepository.upsertBatch): one event from
 * an IP source at `at`, in country `cc`. Tests that seed statistics write these directly.
 */
export function storedAlert(a: {
  crowdsecId: number;
  at: Date;
  cc: string | null;
  ip: string;
  scenario: string;
}): AlertInput {
  return {
    crowdsecId: a.crowdsecId,
    scenario: a.scenario,
    scenarioVersion: null,
    message: 'm',
    eventsCount: 1,
    startAt: a.at,
    stopAt: a.at,
    createdAt: a.at,
    machineId: null,
    simulated: false,
    sourceScope: 'Ip',
    sourceValue: a.ip,
    sourceIp: a.ip,
    sourceRange: null,
    geo: { ...NO_GEO, country_code: a.cc },
    decisionIds: [],
  };
}
