/**
 * The soak: a busy clinic's mixed load through the gateway of a whole stack, faults injected
 * while it runs, then a reconciliation of every promise the system makes against what the load
 * did. Used by `npm run soak` (bench/soak.ts) and, small, by test/integration/soak.test.ts.
 *
 * Each booking is made for a patient of its own (created just before, as a front desk does), so
 * that every promise is countable per booking: a care relation per (patient, doctor), an invoice
 * per payment, an audit entry per request that read or changed patient data.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import pg from 'pg';
import { serviceBacklog, type ServiceBacklog } from '@caregrid/contracts';
import { ENDPOINTS } from '@caregrid/platform';
import { doctorProfile } from './fixtures.js';
import { defaultRunFile, stateDir } from './paths.js';
import { startPrivateKafka, type PrivateKafka } from './private-kafka.js';
import { loadRunFile } from './runfile.js';
import { startTestStack, type TestStack } from './test-stack.js';

/** What can go wrong while the load runs (`--fault` takes these names). */
export type Fault =
  | { kind: 'kafka-restart'; downSeconds: number }
  | { kind: 'kill-app'; appId: string }
  | { kind: 'kill-sidecar'; appId: string }
  | { kind: 'pause-db'; server: 'postgres' | 'mariadb' | 'ferretdb'; seconds: number };

/** `kafka-restart[:s]`, `kill-app:<app-id>`, `kill-sidecar:<app-id>`, `pause-db:<postgres|mariadb|ferretdb>[:s]`. */
export function parseFault(text: string): Fault {
  const [kind, arg, seconds] = text.split(':');
  if (kind === 'kafka-restart') return { kind, downSeconds: Number(arg ?? 10) };
  if ((kind === 'kill-app' || kind === 'kill-sidecar') && arg) return { kind, appId: arg };
  if (kind === 'pause-db' && (arg === 'postgres' || arg === 'mariadb' || arg === 'ferretdb'))
    return { kind, server: arg, seconds: Number(seconds ?? 10) };
  throw new Error(
    `unknown fault "${text}": kafka-restart[:s], kill-app:<app-id>, kill-sidecar:<app-id>, pause-db:<postgres|mariadb|ferretdb>[:s]`,
  );
}

export const describeFault = (fault: Fault) =>
  fault.kind === 'kafka-restart'
    ? `Kafka killed, back after ${fault.downSeconds} s`
    : fault.kind === 'pause-db'
      ? `${fault.server} paused for ${fault.seconds} s`
      : `${fault.appId} ${fault.kind === 'kill-app' ? 'app' : 'sidecar'} SIGKILLed`;

export type SoakOptions = {
  /** Operations started per second, all kinds together. */
  rate: number;
  seconds: number;
  /** Requests in flight at most (a slow system is not offered more than this). */
  connections: number;
  /** Injected one after another, 15 s apart, the first a quarter of the way in. */
  faults: Fault[];
  /** How long the promises may take to hold after the load ends. */
  settleSeconds: number;
  /** Which operations the load is made of (SOAK_MIXES); the clinic's mix unless named. */
  mix?: SoakMix;
  progress: (line: string) => void;
};

export type PromiseCheck = {
  promise: string;
  expected: number;
  got: number;
  settledAfterMs: number | null;
  missing?: Record<string, number>;
};

export type SoakReport = {
  offered: number;
  /** Writes a careful client sent again (same Idempotency-Key) after a 503/504 or no answer. */
  retries: number;
  /** Answers by operation and status. */
  answers: Record<string, Record<number, number>>;
  latencies: { p50: number; p99: number; max: number };
  faults: { fault: string; at: number; note: string }[];
  checks: PromiseCheck[];
  ok: boolean;
};

type Answer = { status: number; body: unknown; requestId: string | null };
type Api = (method: string, url: string, body?: unknown, headers?: Record<string, string>) => Promise<Answer>;

/** What a careful client retries: the service unreachable or slow (503, 504, no answer), or its own retry still running. */
const worthRetrying = (answer: Answer) =>
  answer.status >= 502 || (answer.status === 409 && (answer.body as { rule?: string } | undefined)?.rule === 'idempotency-key-in-flight');

/** The loads: weights of each operation among all the load starts. */
export const SOAK_MIXES = {
  /** A busy clinic's hour: bookings and what follows them, reads and searches, sign-ins. */
  clinic: [
    ['book', 22],
    ['cancel', 4],
    ['pay', 10],
    ['read-patient', 18],
    ['list-patients', 5],
    ['read-doctor', 5],
    ['list-doctors', 5],
    ['fhir-read-patient', 5],
    ['fhir-search-patients', 3],
    ['download-invoice', 5],
    ['register', 1],
    ['sign-in', 2],
  ],
  /** Audited reads only: a patient's record, JSON and FHIR (issue 26's read goal). */
  reads: [
    ['read-patient', 4],
    ['fhir-read-patient', 1],
  ],
  /** Bookings (each for a new patient, as a front desk registers one) and their payments (issue 26's booking goal). */
  bookings: [
    ['book', 3],
    ['pay', 1],
  ],
} satisfies Record<string, [Operation, number][]>;
export type SoakMix = keyof typeof SOAK_MIXES;

/** Patients created before a load that books none, so that its reads have records to read. */
const SEED_PATIENTS = 40;

type Operation =
  | 'book'
  | 'cancel'
  | 'pay'
  | 'read-patient'
  | 'list-patients'
  | 'read-doctor'
  | 'list-doctors'
  | 'fhir-read-patient'
  | 'fhir-search-patients'
  | 'download-invoice'
  | 'register'
  | 'sign-in';

type Booking = {
  appointmentId: string;
  patientId: string;
  doctorId: string;
  amount: number;
  state: 'booked' | 'cancelling' | 'cancelled' | 'paying' | 'paid';
};

const SLOT_MINUTES = 30;
const WRITE_ATTEMPTS = 8;
const SLOTS_PER_DAY = 47;

/** What the load did, as the system answered it: the source of truth the reconciliation compares with. */
class Ledger {
  readonly bookings: Booking[] = [];
  readonly patientsCreated: string[] = [];
  readonly invoices: string[] = [];
  /** Request ids of answered requests that read or changed patient data: the operation and its status. */
  readonly audited = new Map<string, string>();
  readonly answers: Record<string, Record<number, number>> = {};
  readonly latencies: number[] = [];
  nextSlot = 0;
  /** Writes sent again after a 503/504 or no answer. */
  retries = 0;

  /** `ms` of a whole operation (a booking's two requests together); none for a part of one. */
  count(operation: string, status: number, ms?: number) {
    const byStatus = (this.answers[operation] ??= {});
    byStatus[status] = (byStatus[status] ?? 0) + 1;
    if (ms !== undefined) this.latencies.push(ms);
  }
}

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

/** Signals every process of a local server (PostgreSQL: the postmaster and its backends). */
function signalServer(server: 'postgres' | 'mariadb' | 'ferretdb', signal: 'STOP' | 'CONT'): void {
  const pidFile =
    server === 'postgres'
      ? path.join(stateDir, 'postgres', 'postmaster.pid')
      : server === 'mariadb'
        ? path.join(stateDir, 'run', 'mysql', 'mysqld.pid')
        : path.join(stateDir, 'run', 'ferretdb.pid');
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no pid in ${pidFile}`);
  const children = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter(Boolean);
  for (const target of [String(pid), ...children]) spawnSync('kill', [`-${signal}`, target]);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function inject(fault: Fault, stack: TestStack, kafka: PrivateKafka | undefined): Promise<string> {
  switch (fault.kind) {
    case 'kafka-restart': {
      if (!kafka) throw new Error('kafka-restart needs the stack on a broker of its own');
      await kafka.stop({ kill: true });
      await sleep(fault.downSeconds * 1000);
      await kafka.start();
      return 'broker back';
    }
    case 'kill-app':
      stack.member(fault.appId).process.child.kill('SIGKILL');
      return 'the supervisor restarts it';
    case 'kill-sidecar':
      stack.member(fault.appId).sidecar.child.kill('SIGKILL');
      return 'the supervisor restarts it';
    case 'pause-db':
      signalServer(fault.server, 'STOP');
      try {
        await sleep(fault.seconds * 1000);
      } finally {
        signalServer(fault.server, 'CONT');
      }
      return 'resumed';
  }
}

/**
 * The stack a soak runs on: every app of dapr/dapr.yaml with its daprd, on a Kafka broker of its
 * own (a fault may restart it; the shared ones serve other runs), the gateway's rate limit, the sign-up limit and the booking horizon raised.
 */
export async function startSoakStack(): Promise<{ stack: TestStack; kafka: PrivateKafka; stop: () => Promise<void> }> {
  const kafka = await startPrivateKafka();
  try {
    const stack = await startTestStack({
      apps: loadRunFile(defaultRunFile).map((app) => app.appId),
      kafkaBrokers: kafka.brokers,
      // One client signs many up: the per-address sign-up limit is not under test in a soak. A rate
      // search books tens of thousands of slots of 8 doctors: past the default horizon.
      env: {
        gateway: { RATE_LIMIT_PER_MINUTE: '10000000' },
        'auth-service': { REGISTRATION_BURST: '10000000' },
        'appointment-service': { BOOKING_HORIZON_DAYS: '3650' },
      },
    });
    return {
      stack,
      kafka,
      stop: async () => {
        await stack.stop();
        await kafka.remove();
      },
    };
  } catch (error) {
    await kafka.remove();
    throw error;
  }
}

/** A client of the stack's gateway signed in as its first admin; no answer at all (refused, reset, 30 s without one) is status 599. */
async function adminApi(stack: TestStack): Promise<Api> {
  const gateway = stack.url('gateway');
  const secrets = stack.secrets();
  const login = await fetch(`${gateway}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      email: secrets['auth-service']!.bootstrapAdminEmail,
      password: secrets['auth-service']!.bootstrapAdminPassword,
    }),
  });
  if (login.status !== 200) throw new Error(`admin sign-in answered ${login.status}`);
  const token = ((await login.json()) as { accessToken: string }).accessToken;
  return async (method, url, body, headers = {}) => {
    let response: Response;
    let buffer: ArrayBuffer;
    try {
      response = await fetch(`${gateway}${url}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
      buffer = await response.arrayBuffer();
    } catch {
      return { status: 599, body: undefined, requestId: null };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(buffer)) as unknown;
    } catch {
      parsed = undefined;
    }
    return { status: response.status, body: parsed, requestId: response.headers.get('x-request-id') };
  };
}

/** Runs the load with its faults, then reconciles. The stack must be started by the caller (startTestStack). */
export async function runSoak(stack: TestStack, kafka: PrivateKafka | undefined, options: SoakOptions): Promise<SoakReport> {
  const api = await adminApi(stack);
  const gateway = stack.url('gateway');
  // Doctors working around the clock, so bookings never run out of slots.
  const doctors: string[] = [];
  for (let i = 0; i < 8; i++) {
    const created = await api(
      'POST',
      '/api/doctors',
      doctorProfile({
        workingHours: Object.fromEntries(
          ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, [{ start: '00:00', end: '23:30' }]]),
        ),
      }),
    );
    if (created.status !== 201) throw new Error(`POST /api/doctors answered ${created.status}: ${JSON.stringify(created.body)}`);
    doctors.push((created.body as { id: string }).id);
  }
  const firstDay = new Date();
  firstDay.setUTCHours(24 * 2, 0, 0, 0);
  const ledger = new Ledger();
  const from = new Date(Date.now() - 1_000);
  const audited = (answer: { status: number; requestId: string | null }, what: string) => {
    // Every answered request of patient data leaves an entry, allowed or not (README, Audit trail); a 503 may not have reached the service.
    if (answer.requestId && answer.status < 500) ledger.audited.set(answer.requestId, `${what} ${answer.status}`);
  };

  /**
   * A write as a careful client makes it: with an Idempotency-Key, sent again (same key, same body)
   * while the answer is a 503/504 or none, so that its outcome is never unknown: the retry gets the
   * first answer, never a second patient or booking. Each attempt answered is an audited request.
   */
  const write = async (url: string, body: unknown, what: string): Promise<Answer> => {
    const key = randomUUID();
    for (let attempt = 1; ; attempt++) {
      const answer = await api('POST', url, body, { 'idempotency-key': key });
      audited(answer, what);
      if (!worthRetrying(answer) || attempt === WRITE_ATTEMPTS) return answer;
      ledger.retries++;
      await sleep(1_000);
    }
  };
  /** A new patient, as a front desk registers one; a created one joins the ledger. */
  const registerPatient = async (): Promise<Answer> => {
    const label = `${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
    const patient = await write(
      '/api/patients',
      { name: `Soak ${label}`, email: `soak.${label}@example.org`, dateOfBirth: '1980-05-17', gender: 'other' },
      'POST /patients',
    );
    if (patient.status === 201) ledger.patientsCreated.push((patient.body as { id: string }).id);
    return patient;
  };
  const pick = <T>(items: T[]): T | undefined => items[Math.floor(Math.random() * items.length)];
  const run = async (operation: Operation): Promise<void> => {
    const started = performance.now();
    let status = 0;
    try {
      status = await perform(operation);
    } catch {
      status = 599;
    }
    ledger.count(operation, status, performance.now() - started);
  };
  /** The appointment's state as appointment-service keeps it (asked until it answers). */
  const stateOf = async (booking: Booking): Promise<Booking['state']> => {
    for (;;) {
      const answer = await api('GET', `/api/appointments/${booking.appointmentId}`);
      audited(answer, 'read-appointment');
      if (answer.status === 200) {
        const { status, payment } = answer.body as { status: string; payment: unknown };
        return status === 'cancelled' ? 'cancelled' : payment ? 'paid' : 'booked';
      }
      await sleep(1_000);
    }
  };
  let registrations = 0;
  const perform = async (operation: Operation): Promise<number> => {
    switch (operation) {
      case 'book': {
        const patient = await registerPatient();
        ledger.count('create-patient', patient.status);
        if (patient.status !== 201) return patient.status;
        const patientId = (patient.body as { id: string }).id;
        const slot = ledger.nextSlot++;
        const doctorId = doctors[slot % doctors.length]!;
        const index = Math.floor(slot / doctors.length);
        const start = new Date(
          firstDay.getTime() + Math.floor(index / SLOTS_PER_DAY) * 86_400_000 + (index % SLOTS_PER_DAY) * SLOT_MINUTES * 60_000,
        );
        const booked = await write(
          '/api/appointments',
          { patientId, doctorId, start: start.toISOString(), durationMinutes: SLOT_MINUTES, serviceType: 'consultation' },
          'POST /appointments',
        );
        if (booked.status === 201) {
          const body = booked.body as { id: string; amount: number };
          ledger.bookings.push({ appointmentId: body.id, patientId, doctorId, amount: body.amount, state: 'booked' });
        }
        return booked.status;
      }
      case 'cancel': {
        const booking = pick(ledger.bookings.filter((b) => b.state === 'booked'));
        if (!booking) return 204;
        booking.state = 'cancelling';
        const answer = await api('POST', `/api/appointments/${booking.appointmentId}/status`, {
          status: 'cancelled',
          reason: 'soak',
        });
        audited(answer, 'cancel');
        // A cancellation takes no key: when its answer is lost, the appointment says what happened.
        booking.state = answer.status === 200 ? 'cancelled' : answer.status >= 500 ? await stateOf(booking) : 'booked';
        return answer.status;
      }
      case 'pay': {
        const booking = pick(ledger.bookings.filter((b) => b.state === 'booked'));
        if (!booking) return 204;
        booking.state = 'paying';
        const answer = await write(`/api/appointments/${booking.appointmentId}/payment`, { method: 'cash', amount: booking.amount }, 'pay');
        booking.state = answer.status === 200 ? 'paid' : answer.status >= 500 ? await stateOf(booking) : 'booked';
        return answer.status;
      }
      case 'read-patient':
      case 'fhir-read-patient': {
        const patientId = pick(ledger.patientsCreated);
        if (!patientId) return 204;
        const answer = await api('GET', operation === 'read-patient' ? `/api/patients/${patientId}` : `/api/fhir/Patient/${patientId}`);
        audited(answer, operation);
        return answer.status;
      }
      case 'list-patients':
      case 'fhir-search-patients': {
        const answer = await api('GET', operation === 'list-patients' ? '/api/patients?limit=10' : '/api/fhir/Patient?_count=10');
        audited(answer, operation);
        return answer.status;
      }
      case 'read-doctor':
        return (await api('GET', `/api/doctors/${pick(doctors)!}`)).status;
      case 'list-doctors':
        return (await api('GET', '/api/doctors?limit=10')).status;
      case 'download-invoice': {
        const invoiceId = pick(ledger.invoices);
        if (!invoiceId) {
          // Learn invoices as billing issues them (an invoice follows a payment by its event).
          const page = await api('GET', '/api/billing/invoices?limit=20');
          audited(page, 'list-invoices');
          for (const item of (page.body as { items?: { id: string }[] } | undefined)?.items ?? []) ledger.invoices.push(item.id);
          return page.status;
        }
        const answer = await api('GET', `/api/billing/invoices/${invoiceId}/pdf`);
        audited(answer, operation);
        return answer.status;
      }
      case 'register':
      case 'sign-in': {
        const email = `soak.user.${Date.now()}.${registrations++}@example.org`;
        const password = 'correct horse battery staple';
        const registered = await fetch(`${gateway}/api/auth/register`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'Soak User', email, password }),
        });
        if (operation === 'register' || registered.status !== 202) return registered.status;
        const signedIn = await fetch(`${gateway}/api/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email, password }),
        });
        return signedIn.status;
      }
    }
  };

  // The load: operations started at `rate` per second, at most `connections` in flight.
  const mix: [Operation, number][] = SOAK_MIXES[options.mix ?? 'clinic'];
  if (!mix.some(([operation]) => operation === 'book')) {
    for (let i = 0; i < SEED_PATIENTS; i++) {
      const created = await registerPatient();
      if (created.status !== 201) throw new Error(`seeding a patient answered ${created.status}: ${JSON.stringify(created.body)}`);
    }
  }
  const total = mix.reduce((sum, [, weight]) => sum + weight, 0);
  const choose = (): Operation => {
    let r = Math.random() * total;
    for (const [operation, weight] of mix) if ((r -= weight) < 0) return operation;
    return mix[0]![0];
  };
  const began = Date.now();
  const endsAt = began + options.seconds * 1000;
  const faults: SoakReport['faults'] = [];
  const faultsDone = (async () => {
    await sleep(options.seconds * 250);
    for (const fault of options.faults) {
      const at = (Date.now() - began) / 1000;
      options.progress(`fault at ${at.toFixed(1)} s: ${describeFault(fault)}`);
      const note = await inject(fault, stack, kafka).catch((error: unknown) => `failed: ${(error as Error).message}`);
      faults.push({ fault: describeFault(fault), at, note });
      // Each fault's aftermath under load before the next one.
      await sleep(15_000);
    }
  })();
  const inFlight = new Set<Promise<void>>();
  let offered = 0;
  let lastReport = began;
  while (Date.now() < endsAt) {
    const due = Math.floor(((Date.now() - began) / 1000) * options.rate);
    while (offered < due && inFlight.size < options.connections) {
      offered++;
      const p = run(choose()).finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    if (inFlight.size >= options.connections) await Promise.race(inFlight);
    else await sleep(2);
    if (Date.now() - lastReport >= 5_000) {
      lastReport = Date.now();
      options.progress(
        `${Math.round((Date.now() - began) / 1000)} s: ${offered} operations started, ${ledger.bookings.length} bookings, ${inFlight.size} in flight`,
      );
    }
  }
  await Promise.all(inFlight);
  await faultsDone;
  const to = new Date(Date.now() + 1_000);
  options.progress(`load done: ${offered} operations in ${((Date.now() - began) / 1000).toFixed(1)} s; reconciling`);

  const checks = await reconcile(stack, api, ledger, { from, to, settleMs: options.settleSeconds * 1000, progress: options.progress });
  const sorted = [...ledger.latencies].sort((a, b) => a - b);
  return {
    offered,
    retries: ledger.retries,
    answers: ledger.answers,
    latencies: { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted.at(-1) ?? 0 },
    faults,
    checks,
    ok: checks.every((c) => c.expected === c.got),
  };
}

/** Every service that answers GET /ops/backlog (it has an outbox or dead letters), as the access model lists them. */
const SERVICES_WITH_BACKLOG = Object.keys(ENDPOINTS).filter((appId) => 'GET /ops/backlog' in ENDPOINTS[appId]!);

/** Every service's backlog as its /ops/backlog answers it (undefined when the answer is not one). */
async function serviceBacklogs(api: Api): Promise<[string, ServiceBacklog | undefined][]> {
  const backlogs: [string, ServiceBacklog | undefined][] = [];
  for (const service of SERVICES_WITH_BACKLOG) {
    const parsed = serviceBacklog.safeParse((await api('GET', `/api/ops/${service}/backlog`)).body);
    backlogs.push([service, parsed.success ? parsed.data : undefined]);
  }
  return backlogs;
}

/**
 * Waits until no service has an event waiting in its outbox or a dead letter its re-drive will
 * take again, so that one run's leftovers are not the next run's backlog. False when
 * `timeoutMs` passed first.
 */
export async function waitForQuiet(stack: TestStack, timeoutMs: number, progress: (line: string) => void): Promise<boolean> {
  const api = await adminApi(stack);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const waiting: string[] = [];
    for (const [service, backlog] of await serviceBacklogs(api)) {
      if (!backlog) waiting.push(`${service}: no backlog answer`);
      else {
        const { outbox, deadLetters } = backlog;
        // Parked outbox rows and poison letters wait for a person: they are not a backlog that drains.
        const held = (outbox ? outbox.pending - outbox.parked : 0) + (deadLetters ? deadLetters.parked - deadLetters.poison : 0);
        if (held > 0) waiting.push(`${service}: ${held}`);
      }
    }
    if (waiting.length === 0) return true;
    if (Date.now() > deadline) return false;
    progress(`waiting for the backlog to drain: ${waiting.join(', ')}`);
    await sleep(5_000);
  }
}

/**
 * Compares what the system holds with what the load did, until every promise holds or
 * `settleMs` has passed; each check notes when it first held (and kept holding).
 */
async function reconcile(
  stack: TestStack,
  api: Api,
  ledger: Ledger,
  window: { from: Date; to: Date; settleMs: number; progress: (line: string) => void },
): Promise<PromiseCheck[]> {
  const secrets = stack.secrets();
  const mongo = new MongoClient(secrets['analytics-service']!.auditWriterUrl!, { serverSelectionTimeoutMS: 5_000 });
  const billing = new pg.Pool({ connectionString: secrets['billing-service']!.databaseUrl, max: 2 });
  const patients = new pg.Pool({ connectionString: secrets['patient-service']!.databaseUrl, max: 2 });
  const started = Date.now();
  const settled = new Map<string, number | null>();
  let last: PromiseCheck[] = [];
  try {
    const booked = ledger.bookings;
    const paid = booked.filter((b) => b.state === 'paid');
    const unpaid = booked.filter((b) => b.state !== 'paid').map((b) => b.appointmentId);
    const cancelled = booked.filter((b) => b.state === 'cancelled').length;
    const revenue = paid.reduce((sum, b) => sum + b.amount, 0);
    const requestIds = [...ledger.audited.keys()];
    for (;;) {
      const summary = (await api('GET', `/api/analytics/summary?from=${window.from.toISOString()}&to=${window.to.toISOString()}`)).body as {
        patientsRegistered: number;
        appointments: Record<string, number>;
        revenue: { currency: string; amount: number }[];
      };
      const invoices = await billing.query<{ appointment_id: string }>(
        'SELECT appointment_id::text FROM invoices WHERE appointment_id = ANY($1::uuid[])',
        [booked.map((b) => b.appointmentId)],
      );
      const invoiced = new Set(invoices.rows.map((r) => r.appointment_id));
      // Each booking's patient is new, so its care relation rests on it alone: live unless cancelled.
      const relations = await patients.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM care_appointments c
           JOIN unnest($1::uuid[], $2::boolean[]) AS b(appointment_id, cancelled) USING (appointment_id)
          WHERE (c.state = 'cancelled') = b.cancelled`,
        [booked.map((b) => b.appointmentId), booked.map((b) => b.state === 'cancelled')],
      );
      const recorded = new Set(
        (
          await mongo
            .db()
            .collection('audit')
            .aggregate<{ _id: string }>([{ $match: { requestId: { $in: requestIds } } }, { $group: { _id: '$requestId' } }])
            .toArray()
        ).map((r) => r._id),
      );
      const missing: Record<string, number> = {};
      for (const [requestId, what] of ledger.audited) if (!recorded.has(requestId)) missing[what] = (missing[what] ?? 0) + 1;
      const backlogs: ServiceBacklog[] = (await serviceBacklogs(api)).map(
        ([service, backlog]) =>
          backlog ?? {
            service,
            at: new Date().toISOString(),
            outbox: { pending: -1, parked: -1, oldestPendingAt: null },
            deadLetters: null,
          },
      );
      const checks: [string, number, number][] = [
        ['analytics: patients registered', ledger.patientsCreated.length, summary?.patientsRegistered ?? -1],
        ['analytics: appointments booked', booked.length, summary?.appointments?.booked ?? -1],
        ['analytics: appointments cancelled', cancelled, summary?.appointments?.cancelled ?? -1],
        ['analytics: revenue (minor units)', revenue, summary?.revenue?.reduce((sum, r) => sum + r.amount, 0) ?? -1],
        ['billing: one invoice per payment', paid.length, paid.filter((b) => invoiced.has(b.appointmentId)).length],
        ['billing: invoices of unpaid appointments', 0, unpaid.filter((id) => invoiced.has(id)).length],
        ['patients: a care relation per booking, ended by its cancellation', booked.length, relations.rows[0]!.n],
        ['audit: an entry per request of patient data', requestIds.length, recorded.size],
        ...backlogs.flatMap((b): [string, number, number][] => [
          ...(b.outbox ? [[`${b.service}: outbox not yet published`, 0, b.outbox.pending] as [string, number, number]] : []),
          ...(b.deadLetters ? [[`${b.service}: dead letters parked`, 0, b.deadLetters.parked] as [string, number, number]] : []),
        ]),
      ];
      const now = Date.now() - started;
      last = checks.map(([promise, expected, got]) => {
        if (expected === got) {
          if (!settled.has(promise) || settled.get(promise) === null) settled.set(promise, now);
        } else settled.set(promise, null);
        return {
          promise,
          expected,
          got,
          settledAfterMs: settled.get(promise) ?? null,
          ...(promise.startsWith('audit') && expected !== got ? { missing } : {}),
        };
      });
      const open = last.filter((c) => c.expected !== c.got);
      if (open.length === 0 || now > window.settleMs) return last;
      window.progress(`settling (${Math.round(now / 1000)} s): ${open.map((c) => `${c.promise} ${c.got}/${c.expected}`).join('; ')}`);
      await sleep(2_000);
    }
  } finally {
    await mongo.close();
    await billing.end();
    await patients.end();
  }
}

/** The report as a table: promise, expected, got, time to settle. */
export function soakTable(report: SoakReport): string {
  const rows = report.checks.map((c) => [
    c.expected === c.got ? 'ok' : 'MISMATCH',
    c.promise,
    String(c.expected),
    String(c.got),
    c.settledAfterMs === null ? '—' : `${(c.settledAfterMs / 1000).toFixed(1)} s`,
  ]);
  const header = ['', 'promise', 'expected', 'got', 'settled after'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i >= 2 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ');
  const missing = report.checks.flatMap((c) =>
    Object.entries(c.missing ?? {}).map(([what, n]) => `  ${c.promise}: none for ${n} × ${what}`),
  );
  return [line(header), ...rows.map(line), ...missing].join('\n');
}
