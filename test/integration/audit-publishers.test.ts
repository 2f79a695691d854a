/**
 * Who wrote an audit entry is the topic it came on, not what the entry says: each service
 * publishes on `audit.<app-id>`, which only its own sidecar may publish (the `events` component's
 * scopes), and analytics-service keeps every entry under the service whose topic carried it.
 * Real sidecars, the tests' Kafka, analytics-service's real FerretDB store.
 */
import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { auditRecorded, type AuditEntry } from '@caregrid/contracts';
import { eventually, sampleAuditEntry, startTestStack, type TestStack } from '@caregrid/devkit';

let stack: TestStack;
let mongo: MongoClient;

beforeAll(async () => {
  stack = await startTestStack({ apps: ['analytics-service', 'billing-service', 'patient-service'] });
  mongo = new MongoClient(stack.secrets()['analytics-service']!.auditWriterUrl!, { serverSelectionTimeoutMS: 5_000 });
}, 240_000);

afterAll(async () => {
  await mongo?.close();
  await stack?.stop();
});

/** What a service's own sidecar does with an event it is asked to publish (204 published, 403 refused by the scopes). */
async function publishAs(appId: string, topic: string, entry: AuditEntry): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${stack.member(appId).app.daprHttpPort}/v1.0/publish/events/${topic}`, {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents+json' },
    body: JSON.stringify({
      specversion: '1.0',
      id: entry.id,
      source: appId,
      type: auditRecorded.type,
      subject: entry.id,
      datacontenttype: 'application/json',
      data: entry,
    }),
  });
  return response.status;
}

const entryClaiming = (service: string): AuditEntry =>
  sampleAuditEntry({
    actor: { kind: 'user', userId: 'someone', roles: ['doctor'] },
    service,
    requestId: `forged-${randomUUID()}`,
    traceId: '0'.repeat(32),
  });

const kept = (id: string) =>
  eventually(async () => (await mongo.db().collection<{ _id: string }>('audit').findOne({ _id: id })) ?? undefined, 30_000);

describe('audit entries by topic of their publisher', () => {
  it('an entry billing-service publishes claiming to be patient-service’s is kept as billing-service’s, its claim noted', async () => {
    const forged = entryClaiming('patient-service');
    expect(await publishAs('billing-service', 'audit.billing-service', forged)).toBe(204);
    expect(await kept(forged.id)).toMatchObject({
      service: 'billing-service',
      claimedService: 'patient-service',
      via: 'audit.billing-service',
      requestId: forged.requestId,
    });
  });

  it('an honest entry is kept as its service’s, with no claim', async () => {
    const honest = entryClaiming('patient-service');
    expect(await publishAs('patient-service', 'audit.patient-service', honest)).toBe(204);
    const stored = await kept(honest.id);
    expect(stored).toMatchObject({ service: 'patient-service', via: 'audit.patient-service' });
    expect(stored).not.toHaveProperty('claimedService');
  });

  it('a service cannot publish on another service’s audit topic, nor on the old shared one', async () => {
    expect(await publishAs('billing-service', 'audit.patient-service', entryClaiming('patient-service'))).toBe(403);
    expect(await publishAs('billing-service', 'audit', entryClaiming('patient-service'))).toBe(403);
    expect(await publishAs('patient-service', 'audit.billing-service', entryClaiming('billing-service'))).toBe(403);
  });
});
