/**
 * notification-service end to end, every process real (gateway, auth, patient, doctor and
 * appointment services, their sidecars, Kafka, PostgreSQL, the Dapr scheduler, Mailpit): a booking
 * is confirmed by mail once and reminded once, at or after its due time, through a Dapr job; a
 * cancellation deletes the job and sends a notice instead; a patient with reminders off gets no
 * reminder; the mail server answering 451 delays a mail but never doubles it, and a mail past its
 * budget is `failed` until an admin sends it again; a redelivered event sends nothing more.
 * Mail is read back through Mailpit's API, by unique recipients (Mailpit is shared).
 */
import { WEEKDAYS, appointmentBooked } from '@caregrid/contracts';
import {
  doctorProfile,
  eventually,
  jsonClient,
  mailpit,
  bootstrapAdminAuth,
  startTestStack,
  uniqueName,
  type TestStack,
} from '@caregrid/devkit';

const LEAD_MS = 40_000;
let stack: TestStack;
let api: ReturnType<typeof jsonClient>;
let auth: Record<string, string>;
const server = mailpit();

type Notice = {
  id: string;
  kind: string;
  version: number;
  status: string;
  attempts: number;
  lastError: string | null;
  dueAt: string | null;
  sentAt: string | null;
};

beforeAll(async () => {
  stack = await startTestStack({
    apps: ['gateway', 'auth-service', 'patient-service', 'doctor-service', 'appointment-service', 'notification-service'],
    env: {
      'notification-service': {
        REMINDER_LEAD: `${LEAD_MS / 1000}s`,
        MAIL_MAX_ATTEMPTS: '3',
        MAIL_RETRY_FIRST_DELAY: '1s',
        MAIL_RETRY_MAX_DELAY: '2s',
        MAIL_POLL_MS: '200',
      },
    },
  });
  api = jsonClient(stack.url('gateway'));
  auth = await bootstrapAdminAuth(stack);
}, 240_000);

afterAll(async () => {
  await server.setChaos({}).catch(() => undefined);
  await stack?.stop();
});

/** The next whole minute at least a minute away: a slot of a doctor who starts work then. */
function soonStart(): Date {
  return new Date(Math.ceil((Date.now() + 60_000) / 60_000) * 60_000);
}

const hhmm = (date: Date) => date.toISOString().slice(11, 16);

/**
 * The doctor's time zone and working day for slots from `start` to `end`: UTC, unless the slots cross or end at
 * midnight UTC (a run near midnight), where working hours cannot say it; then UTC+12, whose day has the
 * slots at noon. Mails render in the clinic's zone (UTC), so only the working hours move.
 */
function workingWindow(start: Date, end: Date): { timeZone: string; weekday: string; start: string; end: string } {
  const crossesMidnight = start.toISOString().slice(0, 10) !== end.toISOString().slice(0, 10);
  const timeZone = crossesMidnight ? 'Etc/GMT-12' : 'UTC';
  const shift = crossesMidnight ? 12 * 3_600_000 : 0;
  const local = (date: Date) => new Date(date.getTime() + shift);
  return {
    timeZone,
    weekday: WEEKDAYS[(local(start).getUTCDay() + 6) % 7]!,
    start: hhmm(local(start)),
    end: hhmm(local(end)),
  };
}

/** A patient with a unique address, and a doctor whose only slots (5 minutes) are `slots` from `start`. */
async function patientAndDoctor(start: Date, slots = 1): Promise<{ patientId: string; doctorId: string; email: string }> {
  const email = `${uniqueName('notify')}@example.org`;
  const patient = await api(
    'POST',
    '/api/patients',
    { name: `Pat ${uniqueName('n')}`, email, dateOfBirth: '1980-02-03', gender: 'female' },
    auth,
  );
  expect(patient.status).toBe(201);
  const window = workingWindow(start, new Date(start.getTime() + slots * 5 * 60_000));
  const doctor = await api(
    'POST',
    '/api/doctors',
    doctorProfile({
      timeZone: window.timeZone,
      slotMinutes: 5,
      workingHours: { [window.weekday]: [{ start: window.start, end: window.end }] },
      fees: { checkup: 4_000 },
    }),
    auth,
  );
  expect(doctor.status).toBe(201);
  return { patientId: (patient.body as { id: string }).id, doctorId: (doctor.body as { id: string }).id, email };
}

async function book(patientId: string, doctorId: string, start: Date): Promise<string> {
  const booked = await api(
    'POST',
    '/api/appointments',
    { patientId, doctorId, start: start.toISOString(), durationMinutes: 5, serviceType: 'checkup' },
    auth,
  );
  expect(booked.status).toBe(201);
  return (booked.body as { id: string }).id;
}

async function notices(appointmentId: string): Promise<Notice[]> {
  const page = await api('GET', `/api/notifications?appointmentId=${appointmentId}`, undefined, auth);
  expect(page.status).toBe(200);
  return (page.body as { items: Notice[] }).items;
}

const noticeOf = async (appointmentId: string, kind: string, version = 1) =>
  (await notices(appointmentId)).find((n) => n.kind === kind && n.version === version);

/** The mails to `to` whose subject starts with `prefix`, once at least `count` arrived. */
const mailsTo = (to: string, prefix: string, count = 1, timeoutMs = 30_000) =>
  eventually(async () => {
    const found = (await server.messagesTo(to)).filter((m) => m.Subject.startsWith(prefix));
    return found.length >= count ? found : undefined;
  }, timeoutMs);

const subjects = async (to: string) => (await server.messagesTo(to)).map((m) => m.Subject).sort();

/** The notification sidecar's view of a job (daprd answers a missing one 500 "job not found"). */
async function job(name: string): Promise<{ status: number; text: string }> {
  const port = stack.member('notification-service').app.daprHttpPort;
  const response = await fetch(`http://127.0.0.1:${port}/v1.0/jobs/${name}`);
  return { status: response.status, text: await response.text() };
}

/** What the app takes from its own sidecar only: the app token (and no dapr-caller-app-id). */
const asSidecar = () => ({ 'dapr-api-token': stack.member('notification-service').appApiToken! });

/** A delivery straight to the app's subscription route, as its sidecar makes it. */
async function deliver(path: string, event: object): Promise<unknown> {
  const response = await fetch(`${stack.url('notification-service')}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents+json', ...asSidecar() },
    body: JSON.stringify(event),
  });
  expect(response.status).toBe(200);
  return response.json();
}

describe('appointment mail', () => {
  it('confirms once and reminds once at its due time; a cancelled appointment gets no reminder; reminders off get none', async () => {
    const start = soonStart();
    const kept = await patientAndDoctor(start);
    const cancelled = await patientAndDoctor(start);
    const quiet = await patientAndDoctor(start);
    // A patient turns reminders off (here staff do it for them).
    expect((await api('PUT', '/api/notifications/preferences', { patientId: quiet.patientId, reminders: false }, auth)).status).toBe(200);

    const [keptId, cancelledId, quietId] = await Promise.all([
      book(kept.patientId, kept.doctorId, start),
      book(cancelled.patientId, cancelled.doctorId, start),
      book(quiet.patientId, quiet.doctorId, start),
    ]);
    await Promise.all([kept, cancelled, quiet].map((p) => mailsTo(p.email, 'Your appointment on', 1, 45_000)));
    const reminder = await eventually(() => noticeOf(keptId, 'reminder'), 30_000);
    expect(reminder).toMatchObject({ status: 'scheduled', dueAt: new Date(start.getTime() - LEAD_MS).toISOString() });
    expect(await job(`reminder-${keptId}-reminder`)).toMatchObject({ status: 200 });

    const cancel = await api('POST', `/api/appointments/${cancelledId}/status`, { status: 'cancelled', reason: 'Feeling better' }, auth);
    expect(cancel.status).toBe(200);
    const [cancellation] = await mailsTo(cancelled.email, 'Your appointment on', 2, 30_000).then((all) =>
      all.filter((m) => m.Subject.endsWith('is cancelled')),
    );
    expect(cancellation).toBeDefined();
    await eventually(async () => ((await noticeOf(cancelledId, 'reminder'))?.status === 'skipped' ? true : undefined));
    const gone = await job(`reminder-${cancelledId}-reminder`);
    expect(gone.status).not.toBe(200);
    expect(gone.text).toContain('job not found');

    const [reminderMail] = await mailsTo(kept.email, 'Reminder:', 1, LEAD_MS + 60_000);
    const sent = await eventually(async () => {
      const n = await noticeOf(keptId, 'reminder');
      return n?.status === 'sent' ? n : undefined;
    });
    expect(new Date(sent.sentAt!).getTime()).toBeGreaterThanOrEqual(new Date(sent.dueAt!).getTime());
    expect(reminderMail!.Subject).toContain(start.toISOString().slice(11, 16));

    // By now every reminder of the same start was due: the quiet patient's was skipped, and nothing came twice.
    await eventually(async () => ((await noticeOf(quietId, 'reminder'))?.status === 'skipped' ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(await subjects(kept.email)).toEqual([
      expect.stringMatching(/^Reminder: /),
      expect.stringMatching(/^Your appointment on .* is booked$/),
    ]);
    expect(await subjects(cancelled.email)).toEqual([expect.stringMatching(/is booked$/), expect.stringMatching(/is cancelled$/)].sort());
    expect(await subjects(quiet.email)).toEqual([expect.stringMatching(/is booked$/)]);
    expect((await noticeOf(quietId, 'reminder'))!.status).toBe('skipped');
  }, 240_000);

  it('sends a redelivered event, or the same one several times at once, only once', async () => {
    const start = new Date(soonStart().getTime() + 10 * 60_000);
    const person = await patientAndDoctor(start, 2);
    const appointmentId = await book(person.patientId, person.doctorId, start);
    await mailsTo(person.email, 'Your appointment on', 1, 45_000);

    const event = appointmentBooked.parse({
      specversion: '1.0',
      id: uniqueName('redelivered'),
      source: 'appointment-service',
      type: appointmentBooked.type,
      datacontenttype: 'application/json',
      data: {
        appointmentId,
        patientId: person.patientId,
        patientName: 'x',
        doctorId: person.doctorId,
        doctorName: 'y',
        specialization: 'cardiology',
        serviceType: 'checkup',
        start: start.toISOString(),
        end: new Date(start.getTime() + 5 * 60_000).toISOString(),
        status: 'booked',
        amount: 4_000,
        currency: 'EUR',
        version: 1,
      },
    });
    const answers = await Promise.all([1, 2, 3, 4].map(() => deliver('/events/appointment-booked', event)));
    expect(answers).toEqual([1, 2, 3, 4].map(() => ({ status: 'SUCCESS' })));
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect((await notices(appointmentId)).map((n) => `${n.kind}:${n.version}`).sort()).toEqual(['confirmation:1', 'reminder:1']);
    expect(await subjects(person.email)).toHaveLength(1);

    // Moved through appointment-service (version 2): the old reminder is skipped and the job carries the new version.
    const moved = new Date(start.getTime() + 5 * 60_000);
    expect((await api('POST', `/api/appointments/${appointmentId}/reschedule`, { start: moved.toISOString() }, auth)).status).toBe(200);
    await eventually(async () => ((await noticeOf(appointmentId, 'reminder', 2))?.status === 'scheduled' ? true : undefined));
    expect((await noticeOf(appointmentId, 'reminder', 1))!.status).toBe('skipped');
    expect(await noticeOf(appointmentId, 'reminder', 2)).toMatchObject({ dueAt: new Date(moved.getTime() - LEAD_MS).toISOString() });
    const replaced = await job(`reminder-${appointmentId}-reminder`);
    expect(JSON.parse(replaced.text)).toMatchObject({ data: { value: { appointmentId, version: 2 } } });

    // The scheduler loses the job: the daily sweep (cron binding) schedules it again, same data.
    const jobs = `http://127.0.0.1:${stack.member('notification-service').app.daprHttpPort}/v1.0/jobs/reminder-${appointmentId}-reminder`;
    expect((await fetch(jobs, { method: 'DELETE' })).status).toBe(204);
    expect((await job(`reminder-${appointmentId}-reminder`)).text).toContain('job not found');
    expect(await deliver('/reminder-sweep', {})).toMatchObject({ rescheduled: expect.any(Number) });
    expect(JSON.parse((await job(`reminder-${appointmentId}-reminder`)).text)).toMatchObject({
      data: { value: { appointmentId, version: 2 } },
    });
    await fetch(jobs, { method: 'DELETE' });
  }, 120_000);

  it('answers a job for an unknown appointment deliberately, not with a 404 daprd would take for delivered', async () => {
    const name = `reminder-${'0195d2b4-7f3a-7c11-9a2b-3c4d5e6f7a8b'}-reminder`;
    const response = await fetch(`${stack.url('notification-service')}/job/${name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...asSidecar() },
      body: JSON.stringify({ appointmentId: '0195d2b4-7f3a-7c11-9a2b-3c4d5e6f7a8b', version: 1 }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ outcome: 'ignored' });
  });

  it('retries a mail the server refuses with 451 and sends it once it accepts; past its budget it is failed until an admin sends it again', async () => {
    const lateStart = new Date(soonStart().getTime() + 20 * 60_000);
    const retriedStart = new Date(lateStart.getTime() + 10 * 60_000);
    const late = await patientAndDoctor(lateStart);
    const retried = await patientAndDoctor(retriedStart);
    let lateId = '';
    let retriedId = '';
    await server.setChaos({ recipient: { errorCode: 451, probability: 100 } });
    try {
      lateId = await book(late.patientId, late.doctorId, lateStart);
      const failed = await eventually(async () => {
        const n = await noticeOf(lateId, 'confirmation');
        return n?.status === 'failed' ? n : undefined;
      }, 45_000);
      expect(failed).toMatchObject({ attempts: 3, lastError: expect.stringContaining('451') });

      retriedId = await book(retried.patientId, retried.doctorId, retriedStart);
      await eventually(async () => ((await noticeOf(retriedId, 'confirmation'))?.attempts ? true : undefined), 45_000);
    } finally {
      await server.setChaos({});
    }
    const sent = await eventually(async () => {
      const n = await noticeOf(retriedId, 'confirmation');
      return n?.status === 'sent' ? n : undefined;
    });
    expect(sent.attempts).toBeGreaterThanOrEqual(2);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await subjects(retried.email)).toHaveLength(1);
    expect(await subjects(late.email)).toEqual([]);

    const failed = (await noticeOf(lateId, 'confirmation'))!;
    expect((await api('POST', `/api/notifications/${failed.id}/resend`, undefined, auth)).status).toBe(200);
    await mailsTo(late.email, 'Your appointment on');
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await subjects(late.email)).toHaveLength(1);
    expect((await noticeOf(lateId, 'confirmation'))!.status).toBe('sent');
    // Only a failed notice goes again.
    expect((await api('POST', `/api/notifications/${failed.id}/resend`, undefined, auth)).status).toBe(422);
  }, 180_000);

  it('a moved appointment is reminded once, of its new time, never of the old; its move notice comes once', async () => {
    // Booked in the later of two slots, then moved to the earlier: the new time's reminder is due first.
    const early = soonStart();
    const late = new Date(early.getTime() + 5 * 60_000);
    const person = await patientAndDoctor(early, 2);
    const appointmentId = await book(person.patientId, person.doctorId, late);
    await mailsTo(person.email, 'Your appointment on', 1, 45_000);
    await eventually(async () => ((await noticeOf(appointmentId, 'reminder', 1))?.status === 'scheduled' ? true : undefined));

    const moved = await api('POST', `/api/appointments/${appointmentId}/reschedule`, { start: early.toISOString() }, auth);
    expect(moved).toMatchObject({ status: 200, body: { version: 2 } });
    const [notice] = await mailsTo(person.email, 'Your appointment has moved', 1, 30_000);
    expect(notice!.Subject).toContain(hhmm(early));

    const [reminder] = await mailsTo(person.email, 'Reminder:', 1, LEAD_MS + 90_000);
    expect(reminder!.Subject).toContain(hhmm(early));
    expect((await server.message(reminder!.ID)).Text).toContain(hhmm(early));
    expect((await server.message(reminder!.ID)).Text).not.toContain(hhmm(late));
    // The old time's reminder can come from nowhere: its notice is skipped (the sweep leaves it), and the one job was the new one's.
    expect((await noticeOf(appointmentId, 'reminder', 1))!.status).toBe('skipped');
    await eventually(async () => ((await noticeOf(appointmentId, 'reminder', 2))?.status === 'sent' ? true : undefined));
    expect((await job(`reminder-${appointmentId}-reminder`)).text).toContain('job not found');
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const all = await subjects(person.email);
    expect(all.filter((s) => s.startsWith('Reminder:'))).toHaveLength(1);
    expect(all.filter((s) => s.startsWith('Your appointment has moved'))).toHaveLength(1);
  }, 240_000);

  it('notification-service killed just as a reminder job fires: after its restart the reminder is sent exactly once', async () => {
    const start = soonStart();
    const person = await patientAndDoctor(start);
    const appointmentId = await book(person.patientId, person.doctorId, start);
    await mailsTo(person.email, 'Your appointment on', 1, 45_000);
    const reminder = await eventually(async () => {
      const n = await noticeOf(appointmentId, 'reminder');
      return n?.status === 'scheduled' ? n : undefined;
    });

    const member = stack.member('notification-service');
    const before = member.process.child.pid!;
    await new Promise((resolve) => setTimeout(resolve, new Date(reminder.dueAt!).getTime() - Date.now() - 100));
    process.kill(before, 'SIGKILL');
    await eventually(async () => (member.process.child.pid !== before && member.status === 'healthy' ? true : undefined), 60_000);

    const [mail] = await mailsTo(person.email, 'Reminder:', 1, 90_000);
    expect(mail!.Subject).toContain(hhmm(start));
    const sent = await eventually(async () => {
      const n = await noticeOf(appointmentId, 'reminder');
      return n?.status === 'sent' ? n : undefined;
    });
    expect(new Date(sent.sentAt!).getTime()).toBeGreaterThanOrEqual(new Date(sent.dueAt!).getTime());
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    expect((await subjects(person.email)).filter((s) => s.startsWith('Reminder:'))).toHaveLength(1);
  }, 240_000);
});
