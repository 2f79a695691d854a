import { sampleAuditEntry } from '@caregrid/devkit';
import { randomUUID } from 'node:crypto';
import type { AuditEntry, CloudEvent, TrailEntry } from '@caregrid/contracts';
import { pino } from 'pino';
import { analyticsUseCases, type AnalyticsPorts } from '../../src/use-cases.js';

/** The trail's promise, each entry kept once by its id and never changed, in memory; the use case is what is under test. */
function inMemoryTrail() {
  const kept = new Map<string, TrailEntry>();
  const port: Pick<AnalyticsPorts['audit'], 'appendMany'> = {
    async appendMany(entries) {
      return entries.map((entry) => {
        if (kept.has(entry.id)) return false;
        kept.set(entry.id, entry);
        return true;
      });
    },
  };
  return { kept, port: port as AnalyticsPorts['audit'] };
}

const entry = (overrides: Partial<AuditEntry> = {}): AuditEntry => sampleAuditEntry({ at: '2026-03-02T09:00:00.000Z', ...overrides });

const delivered = (data: AuditEntry, topic: string): CloudEvent<unknown> => ({
  specversion: '1.0',
  id: randomUUID(),
  source: 'test',
  type: 'caregrid.audit.recorded.v1',
  topic,
  data,
});

function setUp() {
  const trail = inMemoryTrail();
  const warnings: unknown[] = [];
  const logger = pino({ level: 'silent' });
  logger.warn = ((details: unknown) => void warnings.push(details)) as typeof logger.warn;
  const useCases = analyticsUseCases({
    store: {} as AnalyticsPorts['store'],
    audit: trail.port,
    auditTrail: { retentionDays: 2_190 },
    logger,
  });
  return { trail, warnings, useCases };
}

describe('record an audit batch', () => {
  it('keeps each entry as the service whose topic it came on; a claim of another service is kept beside it and noted', async () => {
    const { trail, warnings, useCases } = setUp();
    const honest = entry({ service: 'patient-service' });
    const claiming = entry({ service: 'auth-service' });
    await useCases.recordAuditBatch([delivered(honest, 'audit.patient-service'), delivered(claiming, 'audit.billing-service')]);
    expect(trail.kept.get(honest.id)).toEqual({ ...honest, via: 'audit.patient-service' });
    expect(trail.kept.get(claiming.id)).toEqual({
      ...claiming,
      service: 'billing-service',
      claimedService: 'auth-service',
      via: 'audit.billing-service',
    });
    expect(warnings).toEqual([{ entryId: claiming.id, publisher: 'billing-service', claimed: 'auth-service' }]);
  });

  it('keeps an entry once when its batch is delivered again', async () => {
    const { trail, useCases } = setUp();
    const batch = [delivered(entry(), 'audit.patient-service'), delivered(entry(), 'audit.patient-service')];
    await useCases.recordAuditBatch(batch);
    await useCases.recordAuditBatch(batch);
    expect(trail.kept.size).toBe(2);
  });

  it('takes an entry of the old shared topic at its own word', async () => {
    const { trail, useCases } = setUp();
    const old = entry({ service: 'doctor-service' });
    await useCases.recordAuditBatch([delivered(old, 'audit')]);
    expect(trail.kept.get(old.id)).toEqual({ ...old, via: 'audit' });
  });
});
