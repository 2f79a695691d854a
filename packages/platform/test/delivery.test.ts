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
  ContractViolation,
  defineEvent,
  deliveryBodyLimit,
  MAX_DELIVERY_BATCH,
  MAX_EVENT_DATA_BYTES,
  type CloudEvent,
} from '@caregrid/contracts';
import { PUBLIC } from '../src/access/model.js';
import { serializedEventData } from '../src/data/outbox.js';
import { DependencyUnavailableError, EventTooLargeError } from '../src/errors.js';
import { answerBulkDelivery, deliveryByContract, deliveryOf, ignoreKnownTypes, subscriptionRoute } from '../src/events/delivery.js';
import { malformationOf, malformedLetter, refuseMalformed, unknownEventType, type Malformation } from '../src/events/malformed.js';
import type { DeadLetterArrival } from '../src/events/arrival.js';
import { REDRIVE_FIRST_DELAY_MS, REDRIVE_MAX_ATTEMPTS, REDRIVE_MAX_DELAY_MS, redriveFailure } from '../src/events/dead-letters.js';
import { createServiceApp } from '../src/http/app.js';
import { ApiRouter } from '../src/http/routes.js';

const quiet = pino({ level: 'silent' });
const noted = defineEvent({ aggregate: 'thing', verb: 'noted', topic: 'things', data: z.object({ n: z.number().int() }) });
const envelope = (n: number | string, id = `e-${n}`) => ({ specversion: '1.0', id, source: 'test', type: noted.type, data: { n } });
/** The dead letters a policy noted, in order (the store's one port it uses). */
const notes = () => {
  const noted: (DeadLetterArrival & { reason: string })[] = [];
  return { noted, deadLetters: { noteDropped: async (letter: DeadLetterArrival & { reason: string }) => void noted.push(letter) } };
};

describe('a batch is answered per entry', () => {
  it('one event that makes the batch fail is retried alone; the other 99 succeed, and a malformed one is dropped', async () => {
    const stored: number[] = [];
    const letters = notes();
    const { apply, batch } = deliveryByContract([noted], {
      logger: quiet,
      deadLetters: letters.deadLetters,
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
    expect(letters.noted).toEqual([
      expect.objectContaining({ id: 'e-not a number', topic: 'things', reason: expect.stringMatching(/data\.n/) }),
    ]);
    // The outcome says why: a failure of the event's own, not a dependency down.
    const outcomes = await apply([envelope(13)]);
    expect(outcomes).toEqual([{ status: 'RETRY', reason: 'document 13 refused', transient: false }]);
  });

  it('a dependency down asks for the whole batch again, at once, without splitting it', async () => {
    let calls = 0;
    const { apply } = deliveryByContract([noted], {
      logger: quiet,
      deadLetters: notes().deadLetters,
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
    const app = createServiceApp({ service: 'test', deps: { logger: quiet }, json: router });
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

describe('one policy for a malformed event', () => {
  const violationOf = (body: unknown): Malformation => {
    try {
      noted.parse(body);
    } catch (error) {
      if (error instanceof ContractViolation) return malformationOf(error);
    }
    throw new Error('expected a contract violation');
  };
  /** A logger whose lines are kept, parsed. */
  const recorded = () => {
    const lines: Record<string, unknown>[] = [];
    return { lines, logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) }) };
  };
  // Patient data where a number belongs: the kind of value that must never reach a log.
  const withPatientData = { ...envelope('Ada Lovelace, born 1815-12-10', 'e-malformed'), topic: 'appointments' };

  it('the letter keeps the whole event and the reason; the log has its topic, type, id and the failing paths, never a value', () => {
    const { letter, log } = malformedLetter(withPatientData, violationOf(withPatientData), noted.topic);
    expect(letter).toEqual({
      id: withPatientData.id,
      topic: 'appointments',
      type: noted.type,
      event: withPatientData,
      reason: expect.stringMatching(/^event does not match caregrid\.thing\.noted\.v1: data\.n: /),
    });
    expect(log).toEqual({ eventId: withPatientData.id, topic: 'appointments', type: noted.type, issues: ['data.n'] });
    expect(JSON.stringify(log)).not.toMatch(/Ada|1815/);
  });

  it('the contract names the topic when the envelope does not; what is no CloudEvent gets an id of its own', () => {
    expect(malformedLetter(envelope('x'), violationOf(envelope('x')), noted.topic).letter.topic).toBe('things');
    const { letter, log } = malformedLetter('not an event', violationOf('not an event'), noted.topic);
    expect(letter).toMatchObject({ id: expect.stringMatching(/^unidentified-/), topic: 'things', event: 'not an event' });
    expect(log.issues).toContain('(root)');
    expect(malformedLetter({ ...envelope(1), type: 'caregrid.thing.lost.v9' }, unknownEventType('caregrid.thing.lost.v9')).log).toEqual({
      eventId: 'e-1',
      topic: 'unknown',
      type: 'caregrid.thing.lost.v9',
      issues: ['type'],
    });
  });

  it('noted once as a dead letter, logged at warn without the payload, answered DROP (never RETRY): also while the store is down', async () => {
    const letters = notes();
    const { lines, logger } = recorded();
    const malformation = violationOf(withPatientData);
    expect(await refuseMalformed(withPatientData, malformation, { logger, deadLetters: letters.deadLetters })).toEqual({
      status: 'DROP',
      reason: malformation.reason,
    });
    expect(letters.noted).toEqual([expect.objectContaining({ id: withPatientData.id, reason: malformation.reason })]);
    expect(lines).toEqual([
      expect.objectContaining({ level: 40, eventId: withPatientData.id, topic: 'appointments', type: noted.type, issues: ['data.n'] }),
    ]);
    expect(JSON.stringify(lines)).not.toMatch(/Ada|1815/);

    // The drain of the dead-letter topic parks it once the store is back: no reason to ask for it again.
    const down = { noteDropped: async () => Promise.reject(new DependencyUnavailableError('database')) };
    expect(await refuseMalformed(withPatientData, malformation, { logger, deadLetters: down })).toMatchObject({ status: 'DROP' });
    // A bug in the store is no malformed event: it surfaces.
    const broken = { noteDropped: async () => Promise.reject(new Error('bug')) };
    await expect(refuseMalformed(withPatientData, malformation, { logger, deadLetters: broken })).rejects.toThrow('bug');
  });

  it('a one-type subscription (deliveryOf) refuses through the same policy and handles only what fits its contract', async () => {
    const letters = notes();
    const handled: number[] = [];
    const handle = deliveryOf(noted, {
      logger: quiet,
      deadLetters: letters.deadLetters,
      handle: async (event) => void handled.push(event.data.n),
    });
    expect(await handle(withPatientData)).toBe('DROP');
    expect(await handle(envelope(7))).toBe('SUCCESS');
    expect(handled).toEqual([7]);
    expect(letters.noted.map((l) => [l.id, l.topic])).toEqual([[withPatientData.id, 'appointments']]);
  });

  it('the other types of a topic are ignored when a contract defines them; an unknown type or version is refused as malformed', async () => {
    const letters = notes();
    const ignored = ignoreKnownTypes([noted], { logger: quiet, deadLetters: letters.deadLetters });
    expect(await ignored(envelope(1))).toBe('SUCCESS');
    expect(await ignored({ ...envelope(2), type: 'caregrid.thing.noted.v2' })).toBe('DROP');
    expect(await ignored('not an event')).toBe('DROP');
    expect(letters.noted.map((l) => l.reason)).toEqual([
      'no contract for event type caregrid.thing.noted.v2',
      'no contract for event type undefined',
    ]);
  });
});
