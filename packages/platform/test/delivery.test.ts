/**
 * How a subscriber answers what daprd delivers, apart from any server: a batch is answered
 * entry by entry and never fails as a whole for one bad event; a bulk delivery of the largest
 * batch of the largest events fits the route's body limit; parked letters come back with backoff
 * and are called poison only for reasons of their own.
 */
import type { Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { pino } from 'pino';
import { z } from 'zod';
import {
  auditRecorded,
  defineEvent,
  deliveryBodyLimit,
  MAX_DELIVERY_BATCH,
  MAX_EVENT_DATA_BYTES,
  type CloudEvent,
} from '@caregrid/contracts';
import { PUBLIC } from '../src/access/model.js';
import { serializedEventData } from '../src/data/outbox.js';
import { DependencyUnavailableError, EventTooLargeError } from '../src/errors.js';
import { answerBulkDelivery, deliveryByContract, subscriptionRoute } from '../src/events/delivery.js';
import { REDRIVE_FIRST_DELAY_MS, REDRIVE_MAX_ATTEMPTS, REDRIVE_MAX_DELAY_MS, redriveFailure } from '../src/events/dead-letters.js';
import { createServiceApp } from '../src/http/app.js';
import { ApiRouter } from '../src/http/routes.js';

const quiet = pino({ level: 'silent' });
const noted = defineEvent({ aggregate: 'thing', verb: 'noted', topic: 'things', data: z.object({ n: z.number().int() }) });
const envelope = (n: number | string, id = `e-${n}`) => ({ specversion: '1.0', id, source: 'test', type: noted.type, data: { n } });

describe('a batch is answered per entry', () => {
  it('one event that makes the batch fail is retried alone; the other 99 succeed, and a malformed one is dropped', async () => {
    const stored: number[] = [];
    const { apply, batch } = deliveryByContract([noted], {
      logger: quiet,
      handleMany: async (events: CloudEvent<unknown>[]) => {
        // As a store refusing a whole insert for one bad document.
        if (events.some((e) => (e.data as { n: number }).n === 13)) throw new Error('document 13 refused');
        stored.push(...events.map((e) => (e.data as { n: number }).n));
      },
    });
    const events = Array.from({ length: 100 }, (_, i) => envelope(i));
    events[50] = envelope('not a number');
    const statuses = await batch(events);
    expect(statuses.filter((s) => s === 'SUCCESS')).toHaveLength(98);
    expect(statuses[13]).toBe('RETRY');
    expect(statuses[50]).toBe('DROP');
    expect(stored.sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i).filter((n) => n !== 13 && n !== 50));
    // The outcome says why: a failure of the event's own, not a dependency down.
    const outcomes = await apply([envelope(13)]);
    expect(outcomes).toEqual([{ status: 'RETRY', reason: 'document 13 refused', transient: false }]);
  });

  it('a dependency down asks for the whole batch again, at once, without splitting it', async () => {
    let calls = 0;
    const { apply } = deliveryByContract([noted], {
      logger: quiet,
      handleMany: async () => {
        calls++;
        throw new DependencyUnavailableError('database');
      },
    });
    const outcomes = await apply(Array.from({ length: 100 }, (_, i) => envelope(i)));
    expect(calls).toBe(1);
    expect(new Set(outcomes.map((o) => JSON.stringify(o)))).toEqual(
      new Set([JSON.stringify({ status: 'RETRY', reason: 'database is unavailable', transient: true })]),
    );
  });
});

describe('bulk deliveries always fit', () => {
  let server: Server;
  let base: string;
  let received = 0;

  beforeAll(async () => {
    // Public here: this is about sizes, not who may deliver.
    const router = new ApiRouter({ 'POST /events/things': PUBLIC, 'POST /things': PUBLIC })
      .add(
        subscriptionRoute(
          '/events/things',
          'things, in batches',
          answerBulkDelivery(async (events) => {
            received += events.length;
            return events.map(() => 'SUCCESS');
          }),
        ),
      )
      .add({
        method: 'post',
        path: '/things',
        summary: 'a plain route',
        responses: { 204: { description: 'ok' } },
        handler: ({ res }) => res.status(204).end(),
      });
    const app = createServiceApp({ service: 'test', logger: quiet, routers: [router] });
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const address = server.address() as { port: number };
    base = `http://127.0.0.1:${address.port}`;
  });
  afterAll(() => server?.close());

  it('the largest batch of the largest events a contract allows reaches the route (it was a 413 above 100 kB)', async () => {
    // data of exactly the largest size allowed, with a CloudEvent envelope daprd-like in size.
    const filler = 'x'.repeat(MAX_EVENT_DATA_BYTES - JSON.stringify({ n: 1, pad: '' }).length);
    const entries = Array.from({ length: MAX_DELIVERY_BATCH }, (_, i) => ({
      entryId: `entry-${i}`,
      contentType: 'application/cloudevents+json',
      metadata: { 'content-type': 'application/cloudevents+json' },
      event: {
        ...envelope(i),
        data: { n: i, pad: filler },
        traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`,
        pubsubname: 'events',
      },
    }));
    const body = JSON.stringify({ id: 'bulk', topic: 'things', pubsubname: 'events', entries });
    expect(body.length).toBeLessThanOrEqual(deliveryBodyLimit());
    const response = await fetch(`${base}/events/things`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(response.status).toBe(200);
    const { statuses } = (await response.json()) as { statuses: { entryId: string; status: string }[] };
    expect(statuses).toHaveLength(MAX_DELIVERY_BATCH);
    expect(received).toBe(MAX_DELIVERY_BATCH);
    // Any other route keeps the small default.
    const plain = await fetch(`${base}/things`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(plain.status).toBe(413);
  });

  it('an event larger than a contract allows is refused at the write, with a 413 and the figures', () => {
    expect(() => serializedEventData({ type: noted.type, data: { pad: 'x'.repeat(MAX_EVENT_DATA_BYTES) } })).toThrow(EventTooLargeError);
    expect(serializedEventData({ type: noted.type, data: { n: 1 } })).toBe('{"n":1}');
    // Multi-byte characters count as bytes, not characters.
    expect(() => serializedEventData({ type: noted.type, data: { pad: 'é'.repeat(MAX_EVENT_DATA_BYTES / 2) } })).toThrow(
      EventTooLargeError,
    );
  });

  it('the largest audit entry its contract allows fits under the cap', () => {
    const uuid = '0190f0a0-0000-7000-8000-000000000000';
    const largest = auditRecorded.data.parse({
      id: uuid,
      at: new Date().toISOString(),
      actor: {
        kind: 'user',
        userId: 'u'.repeat(200),
        roles: ['admin', 'receptionist', 'doctor', 'patient'],
        patientId: 'p'.repeat(200),
        doctorId: 'd'.repeat(200),
      },
      service: 's'.repeat(100),
      resource: 'patient',
      resourceId: 'r'.repeat(100),
      action: 'search',
      patientIds: Array.from({ length: 1000 }, () => uuid),
      outcome: 'allowed',
      status: 200,
      clientAddress: 'c'.repeat(100),
      requestId: 'q'.repeat(128),
      traceId: 't'.repeat(32),
    });
    expect(Buffer.byteLength(JSON.stringify(largest))).toBeLessThan(MAX_EVENT_DATA_BYTES);
  });

  it('no Subscription delivers more events at once than the routes are sized for', () => {
    const subscriptions = parseAllDocuments(readFileSync(new URL('../../../dapr/resources/subscriptions.yaml', import.meta.url), 'utf8'))
      .map((doc) => doc.toJS() as { metadata: { name: string }; spec: { bulkSubscribe?: { enabled: boolean; maxMessagesCount?: number } } })
      .filter((s) => s.spec.bulkSubscribe?.enabled);
    expect(subscriptions.length).toBeGreaterThan(0);
    for (const s of subscriptions) {
      expect([s.metadata.name, s.spec.bulkSubscribe!.maxMessagesCount]).toEqual([s.metadata.name, expect.any(Number)]);
      expect(s.spec.bulkSubscribe!.maxMessagesCount!).toBeLessThanOrEqual(MAX_DELIVERY_BATCH);
    }
  });
});

describe('re-drive backoff', () => {
  const letter = { id: 'l', attempts: 0 };
  const now = 1_000_000;

  it('a failure of the event’s own is counted and tried again later each time, then poison', () => {
    let attempts = 0;
    const delays: number[] = [];
    for (;;) {
      const failure = redriveFailure({ ...letter, attempts }, { status: 'RETRY', reason: 'bug', transient: false }, now);
      expect(failure.counted).toBe(true);
      attempts++;
      if (failure.poison) break;
      delays.push(failure.nextAttemptAt!.getTime() - now);
    }
    expect(attempts).toBe(REDRIVE_MAX_ATTEMPTS);
    expect(delays[0]).toBeGreaterThan(REDRIVE_FIRST_DELAY_MS);
    for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeGreaterThanOrEqual(delays[i - 1]!);
    expect(Math.max(...delays)).toBe(REDRIVE_MAX_DELAY_MS);
  });

  it('a dependency down is never counted, however long it lasts; a malformed event is poison at once', () => {
    const outage = redriveFailure(
      { ...letter, attempts: REDRIVE_MAX_ATTEMPTS - 1 },
      { status: 'RETRY', reason: 'db down', transient: true },
      now,
    );
    expect(outage).toMatchObject({ counted: false, poison: false, nextAttemptAt: new Date(now + REDRIVE_FIRST_DELAY_MS) });
    expect(redriveFailure(letter, { status: 'DROP', reason: 'malformed' }, now)).toMatchObject({ poison: true, nextAttemptAt: null });
  });
});
