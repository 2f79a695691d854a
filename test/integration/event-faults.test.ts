/**
 * The event flow's two promises under faults, every process real and the
 * stack on a Kafka broker of its own (the shared one serves other test runs
 * and must never go down):
 * - R1 nothing lost: the broker is killed in the middle of 1,000 patient
 *   creations and stays down for 30 s; creations keep succeeding (the outbox),
 *   and once it is back analytics counts each patient exactly once.
 * - R2 nothing doubled: every event of a booking-and-payment flow is delivered
 *   again while its first delivery is under way (straight to the subscriber,
 *   as a second sidecar would) and republished twice with the same CloudEvent
 *   id; one invoice per paid appointment, numbers without a gap, analytics'
 *   counts as for a single delivery.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import pg from 'pg';
import { parseAllDocuments } from 'yaml';
import { AUDIT_PUBLISHERS, auditPublisherOf, auditTopic, patientCreated, Topics } from '@caregrid/contracts';
import {
  doctorProfile,
  eventually,
  jsonClient,
  kcatAsAdmin,
  readTopic,
  repoRoot,
  startPrivateKafka,
  startTestStack,
  nextMonday,
  type PrivateKafka,
  type TestStack,
} from '@caregrid/devkit';

let kafka: PrivateKafka;
let stack: TestStack;
let api: ReturnType<typeof jsonClient>;
let auth: Record<string, string>;
let mongo: MongoClient;
/** The audit trail's store, as analytics-service's writer login (it keeps the trail apart from its own database). */
let trailStore: MongoClient;
let billingDb: pg.Pool;
let patientDb: pg.Pool;

type Summary = { patientsRegistered: number; appointments: Record<string, number>; revenue: { currency: string; amount: number }[] };
type CloudEvent = { id: string; type: string; source: string; subject?: string; time: string; data: Record<string, unknown> };

const summary = async (from: Date, to: Date) =>
  (await api('GET', `/api/analytics/summary?from=${from.toISOString()}&to=${to.toISOString()}`, undefined, auth)).body as Summary;

/** Runs `task` for 0..count-1, `width` at a time. */
async function pool<T>(count: number, width: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await task(i);
      }
    }),
  );
  return results;
}

const createPatient = (label: string) =>
  api(
    'POST',
    '/api/patients',
    { name: `Patient ${label}`, email: `${label}@example.org`, dateOfBirth: '1980-05-17', gender: 'other' },
    auth,
  );

beforeAll(async () => {
  kafka = await startPrivateKafka();
  stack = await startTestStack({
    apps: ['gateway', 'auth-service', 'patient-service', 'doctor-service', 'appointment-service', 'billing-service', 'analytics-service'],
    kafkaBrokers: kafka.brokers,
    env: { gateway: { RATE_LIMIT_PER_MINUTE: '1000000' } },
  });
  api = jsonClient(stack.url('gateway'));
  const secrets = stack.secrets();
  const login = await api('POST', '/api/auth/login', {
    email: secrets['auth-service']!.bootstrapAdminEmail,
    password: secrets['auth-service']!.bootstrapAdminPassword,
  });
  auth = { authorization: `Bearer ${(login.body as { accessToken: string }).accessToken}` };
  mongo = new MongoClient(secrets['analytics-service']!.databaseUrl!, { serverSelectionTimeoutMS: 5_000 });
  trailStore = new MongoClient(secrets['analytics-service']!.auditWriterUrl!, { serverSelectionTimeoutMS: 5_000 });
  billingDb = new pg.Pool({ connectionString: secrets['billing-service']!.databaseUrl, max: 2 });
  patientDb = new pg.Pool({ connectionString: secrets['patient-service']!.databaseUrl, max: 2 });
}, 240_000);

afterAll(async () => {
  await mongo?.close();
  await trailStore?.close();
  await billingDb?.end();
  await patientDb?.end();
  await stack?.stop();
  await kafka?.remove();
});

it('R1: Kafka killed for 30 s in the middle of 1,000 patient creations → every creation answered 201, analytics counts exactly 1,000', async () => {
  const total = 1_000;
  const from = new Date();
  const tag = `r1-${Date.now()}`;
  let down: { at: number; until?: number } | undefined;
  let outage: Promise<void> | undefined;
  let createdWhileDown = 0;

  const results = await pool(total, 16, async (i) => {
    // A third of the way in, the broker dies; it comes back 30 s later, whatever the creations do.
    if (i === Math.floor(total / 3) && !outage) {
      outage = (async () => {
        await kafka.stop({ kill: true });
        down = { at: Date.now() };
        await new Promise((resolve) => setTimeout(resolve, 30_000));
        down.until = Date.now();
        await kafka.start();
      })();
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const response = await createPatient(`${tag}-${i}`);
    if (down && down.until === undefined && response.status === 201) createdWhileDown++;
    return response;
  });
  await outage;
  const ends = new Date(Date.now() + 1_000);

  expect(results.filter((r) => r.status !== 201).map((r) => [r.status, r.body])).toEqual([]);
  const ids = results.map((r) => (r.body as { id: string }).id);
  expect(new Set(ids).size).toBe(total);
  // The outage was real and the API did not notice it: writes went on into the outbox.
  expect(down?.until).toBeDefined();
  expect(createdWhileDown).toBeGreaterThan(0);

  // Once the broker is back, the outbox drains and analytics has each patient exactly once.
  const counted = await eventually(async () => {
    const { patientsRegistered } = await summary(from, ends);
    return patientsRegistered >= total ? patientsRegistered : undefined;
  }, 150_000);
  expect(counted).toBe(total);
  const recorded = await mongo
    .db()
    .collection('events')
    .aggregate<{ _id: string; n: number }>([
      { $match: { type: patientCreated.type, 'data.patientId': { $in: ids } } },
      { $group: { _id: '$data.patientId', n: { $sum: 1 } } },
    ])
    .toArray();
  expect(recorded).toHaveLength(total);
  expect(recorded.filter((r) => r.n !== 1)).toEqual([]);
  const { rows } = await patientDb.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM outbox WHERE topic = 'patients' AND subject = ANY($1::text[]) AND published_at IS NULL",
    [ids],
  );
  expect(rows[0]!.n).toBe(0);
  // On the broker each patient's event is there at least once (at-least-once: a duplicate is allowed there, not in analytics).
  const onBroker = new Set(
    readTopic(Topics.patients, kafka.brokers)
      .filter((e) => (e as CloudEvent).type === patientCreated.type)
      .map((e) => (e as CloudEvent).subject),
  );
  expect(ids.filter((id) => !onBroker.has(id))).toEqual([]);
}, 240_000);

/** Where each subscriber's sidecar delivers an event of a topic: dapr/resources/subscriptions.yaml, read as daprd does. */
function deliveryRoutes(): { appId: string; topic: string; bulk: boolean; route: (type: string) => string }[] {
  const file = path.join(repoRoot, 'dapr', 'resources', 'subscriptions.yaml');
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map(
      (doc) =>
        doc.toJS() as {
          kind: string;
          scopes: string[];
          spec: {
            topic: string;
            routes: { rules?: { match: string; path: string }[]; default: string };
            bulkSubscribe?: { enabled?: boolean };
          };
        },
    )
    .filter((s) => s.kind === 'Subscription')
    .flatMap((s) =>
      s.scopes.map((appId) => ({
        appId,
        topic: s.spec.topic,
        // A bulk subscription's route takes a batch and answers a status per entry.
        bulk: s.spec.bulkSubscribe?.enabled === true,
        route: (type: string) =>
          s.spec.routes.rules?.find((rule) => rule.match === `event.type == "${type}"`)?.path ?? s.spec.routes.default,
      })),
    );
}

/** Messages a sidecar has taken from the broker and handed to its app, per topic (daprd's own metric). */
async function delivered(appId: string): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${stack.member(appId).app.metricsPort}/metrics`)).text();
  const counts = new Map<string, number>();
  for (const match of text.matchAll(/^dapr_component_pubsub_ingress_count\{([^}]*)\} (\S+)$/gm)) {
    const topic = /topic="([^"]+)"/.exec(match[1]!)?.[1];
    if (topic) counts.set(topic, (counts.get(topic) ?? 0) + Number(match[2]));
  }
  return counts;
}

/** Follows topics from `fromMs` on (kcat), handing over each message as it arrives. */
function follow(topics: string[], fromMs: number, onMessage: (topic: string, event: CloudEvent) => void): () => void {
  const readers = topics.map((topic) => {
    const reader = spawn('kcat', [...kcatAsAdmin(kafka.brokers), '-C', '-t', topic, '-o', `s@${fromMs}`, '-u', '-q', '-D', '\u001e'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let buffer = '';
    reader.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (buffer + chunk).split('\u001e');
      buffer = parts.pop()!;
      for (const part of parts) if (part.trim()) onMessage(topic, JSON.parse(part) as CloudEvent);
    });
    return reader;
  });
  return () => readers.forEach((reader) => reader.kill());
}

it('R2: every event delivered again while its first delivery runs, and twice more from Kafka → one invoice per paid appointment, no gap in numbering, analytics as for one delivery', async () => {
  // After R1's outage and load: the whole stack answers again before this flow starts.
  for (const path of ['/api/patients?limit=1', '/api/doctors?limit=1', '/api/appointments?limit=1', '/api/billing/invoices?limit=1']) {
    await eventually(async () => ((await api('GET', path, undefined, auth)).status === 200 ? true : undefined), 60_000);
  }
  const topics: string[] = [Topics.patients, Topics.doctors, Topics.appointments, Topics.invoices, ...AUDIT_PUBLISHERS.map(auditTopic)];
  const isAudit = (e: CloudEvent) => auditPublisherOf((e as { topic?: string }).topic) !== undefined;
  // The topic's owner publishes it again (pub/sub scopes let no one else); audit entries each on their service's own topic.
  const owners: Record<string, string> = {
    [Topics.patients]: 'patient-service',
    [Topics.doctors]: 'doctor-service',
    [Topics.appointments]: 'appointment-service',
    [Topics.invoices]: 'billing-service',
  };
  const routes = deliveryRoutes();
  const subscribers = ['analytics-service', 'billing-service'];
  const before = new Map(await Promise.all(subscribers.map(async (id) => [id, await delivered(id)] as const)));
  const from = new Date();
  const seen = new Map<string, number>(topics.map((t) => [t, 0]));
  const firsts = new Map<string, CloudEvent>();
  const answers: Promise<string>[] = [];

  const duplicate = (topic: string, event: CloudEvent): void => {
    const owner = owners[topic] ?? event.source;
    // Two more copies through the broker, concurrently, with the same CloudEvent id…
    for (let copy = 0; copy < 2; copy++) {
      answers.push(
        fetch(`http://127.0.0.1:${stack.member(owner).app.daprHttpPort}/v1.0/publish/events/${topic}`, {
          method: 'POST',
          headers: { 'content-type': 'application/cloudevents+json' },
          body: JSON.stringify(event),
        }).then((r) => `publish ${r.status}`),
      );
    }
    // …and one straight to each subscriber, racing the delivery its sidecar is making right now.
    for (const { appId, route, bulk } of routes.filter((r) => r.topic === topic && subscribers.includes(r.appId))) {
      const member = stack.member(appId);
      const body = bulk ? { entries: [{ entryId: '1', event, contentType: 'application/cloudevents+json' }], topic } : event;
      answers.push(
        fetch(`http://127.0.0.1:${member.app.appPort}${route(event.type)}`, {
          method: 'POST',
          headers: { 'content-type': bulk ? 'application/json' : 'application/cloudevents+json', 'dapr-api-token': member.appApiToken! },
          body: JSON.stringify(body),
        }).then(async (r) => {
          const answer = (await r.json()) as { status?: string; statuses?: { status: string }[] };
          return `deliver ${r.status} ${answer.status ?? answer.statuses?.[0]?.status}`;
        }),
      );
    }
  };
  const stopFollowing = follow(topics, from.getTime(), (topic, event) => {
    seen.set(topic, seen.get(topic)! + 1);
    if (firsts.has(event.id)) return;
    firsts.set(event.id, event);
    duplicate(topic, event);
  });

  // Two doctors, four paid check-ups each: a flow whose every count is known.
  const fees = { neurology: 7_000, urology: 11_000 } as const;
  const perDoctor = 4;
  let doctors: { id: string; specialization: keyof typeof fees; fee: number }[] = [];
  let appointmentIds: string[] = [];
  try {
    doctors = await Promise.all(
      (Object.keys(fees) as (keyof typeof fees)[]).map(async (specialization) => {
        const created = await api(
          'POST',
          '/api/doctors',
          doctorProfile({
            specialization,
            workingHours: { mon: [{ start: '08:00', end: '18:00' }] },
            fees: { checkup: fees[specialization] },
          }),
          auth,
        );
        expect(created.status).toBe(201);
        return { id: (created.body as { id: string }).id, specialization, fee: fees[specialization] };
      }),
    );
    appointmentIds = await pool(doctors.length * perDoctor, 4, async (i) => {
      const doctor = doctors[i % doctors.length]!;
      const patient = await createPatient(`r2-${Date.now()}-${i}`);
      const start = `${nextMonday(1)}T${String(9 + Math.floor(i / doctors.length)).padStart(2, '0')}:00:00Z`;
      const booked = await api(
        'POST',
        '/api/appointments',
        { patientId: (patient.body as { id: string }).id, doctorId: doctor.id, start, durationMinutes: 30, serviceType: 'checkup' },
        auth,
      );
      expect(booked).toMatchObject({ status: 201, body: { amount: doctor.fee } });
      const id = (booked.body as { id: string }).id;
      expect((await api('POST', `/api/appointments/${id}/payment`, { method: 'debit', amount: doctor.fee }, auth)).status).toBe(200);
      return id;
    });
    // Settled: every invoice made, every message on the topics (copies included) delivered by the subscribers' sidecars,
    // every straight delivery answered.
    await eventually(async () => {
      const { rows } = await billingDb.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM invoices WHERE appointment_id = ANY($1::uuid[])',
        [appointmentIds],
      );
      if (rows[0]!.n < appointmentIds.length) return undefined;
      const settled = await Promise.all(
        subscribers.map(async (id) => {
          const now = await delivered(id);
          const behind = routes
            // A bulk subscription's batches are counted apart (and not per message): its settling is the trail below.
            .filter((r) => r.appId === id && !r.bulk && topics.includes(r.topic as (typeof topics)[number]))
            .filter((r) => (now.get(r.topic) ?? 0) - (before.get(id)!.get(r.topic) ?? 0) < seen.get(r.topic)!);
          if (behind.length > 0) {
            const counts = behind.map(
              (r) => `${r.topic} ${(now.get(r.topic) ?? 0) - (before.get(id)!.get(r.topic) ?? 0)}/${seen.get(r.topic)}`,
            );
            throw new Error(`${id} still behind: ${counts.join(', ')}`);
          }
          return true;
        }),
      );
      const auditSeen = [...new Set([...firsts.values()].filter(isAudit).map((e) => String(e.data.id)))];
      const auditKept = await trailStore
        .db()
        .collection('audit')
        .countDocuments({ _id: { $in: auditSeen } } as never);
      if (auditKept < auditSeen.length) throw new Error(`audit trail behind: ${auditKept}/${auditSeen.length}`);
      // analytics takes the other topics in batches too: settled once it has stored every event.
      const eventsSeen = [...firsts.values()].filter((e) => !isAudit(e)).map((e) => e.id);
      const eventsKept = await mongo
        .db()
        .collection('events')
        .countDocuments({ _id: { $in: eventsSeen } } as never);
      if (eventsKept < eventsSeen.length) throw new Error(`analytics behind: ${eventsKept}/${eventsSeen.length}`);
      return settled.every(Boolean) ? true : undefined;
    }, 120_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  } finally {
    stopFollowing();
  }
  const results = await Promise.all(answers);
  expect(results.filter((r) => r !== 'publish 204' && r !== 'deliver 200 SUCCESS')).toEqual([]);
  // Each event did travel three times through Kafka (the original and two copies).
  for (const topic of [Topics.patients, Topics.doctors, Topics.appointments, Topics.invoices]) {
    const events = [...firsts.values()].filter((e) => (e as { topic?: string }).topic === topic).length;
    expect(events).toBeGreaterThan(0);
    expect(seen.get(topic)).toBe(3 * events);
  }

  // Billing: one invoice per paid appointment, numbered 1..N in this stack's own database: no gap, no extra number drawn.
  const { rows: invoices } = await billingDb.query<{ appointment_id: string; number: string }>(
    'SELECT appointment_id, number FROM invoices ORDER BY number',
  );
  expect(invoices.map((i) => i.appointment_id).sort()).toEqual([...appointmentIds].sort());
  const year = new Date().getUTCFullYear();
  expect(invoices.map((i) => i.number)).toEqual(appointmentIds.map((_, i) => `INV-${year}-${String(i + 1).padStart(6, '0')}`));
  const { rows: counters } = await billingDb.query<{ last: number }>('SELECT last FROM invoice_counters WHERE year = $1', [year]);
  expect(counters[0]!.last).toBe(appointmentIds.length);

  // Analytics: what one delivery of each event gives, exactly.
  const { patientsRegistered, appointments, revenue } = await summary(from, new Date(Date.now() + 1_000));
  expect({ patientsRegistered, appointments, revenue }).toEqual({
    patientsRegistered: appointmentIds.length,
    appointments: { booked: appointmentIds.length, cancelled: 0, fulfilled: 0, noshow: 0 },
    revenue: [{ currency: 'EUR', amount: perDoctor * (fees.neurology + fees.urology) }],
  });
  for (const by of ['appointments', 'revenue'] as const) {
    const top = (await api('GET', `/api/analytics/doctors/top?by=${by}&currency=EUR&limit=100`, undefined, auth)).body as {
      doctors: { doctorId: string; appointments: number; revenue: number }[];
    };
    const ours = doctors.map((d) => top.doctors.find((t) => t.doctorId === d.id));
    expect(ours.map((t) => [t?.appointments, t?.revenue])).toEqual(doctors.map((d) => [perDoctor, perDoctor * d.fee]));
  }
  const { specializations } = (await api('GET', '/api/analytics/specializations', undefined, auth)).body as {
    specializations: { specialization: string; doctors: number; appointments: number }[];
  };
  expect(specializations.filter((s) => s.specialization in fees)).toEqual(
    doctors.map((d) => ({ specialization: d.specialization, doctors: 1, appointments: perDoctor })),
  );
  // The audit trail keeps each entry once, whatever arrived how often.
  const auditIds = [...firsts.values()].filter(isAudit).map((e) => String(e.data.id));
  expect(auditIds.length).toBeGreaterThan(0);
  const stored = await trailStore
    .db()
    .collection('audit')
    .countDocuments({ _id: { $in: auditIds } } as never);
  expect(stored).toBe(new Set(auditIds).size);
}, 240_000);
