/**
 * Access control as a hostile user meets it: every call goes through the real
 * gateway (JWT policy in its daprd) and the services' own sidecars, with
 * nothing but a valid token of the caller's own — or, for the peer checks,
 * straight to a sidecar's invocation API as a compromised process would.
 */
import { createServer } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  doctorProfile,
  eventually,
  freePort,
  freeSidecarPorts,
  jsonClient,
  readyAccount,
  stackSigningKey,
  startSidecar,
  bootstrapAdminAuth,
  startTestStack,
  testAccessToken,
  PASSWORD,
  bearer,
  unique,
  expectStatus,
  type TestStack,
} from '@caregrid/devkit';

let stack: TestStack;
let api: ReturnType<typeof jsonClient>;
let admin: Record<string, string>;

type Page<T> = { items: T[]; nextCursor: string | null };
type Appointment = { id: string; patientId: string; doctorId: string; amount: number; currency: string };
type Invoice = { id: string; appointmentId: string; gross: number; patient: { id: string }; doctor: { id: string } };

/** A signed-in account made by the admin, linked to a patient or doctor record. */
async function account(roles: string[], links: { patientId?: string; doctorId?: string } = {}): Promise<Record<string, string>> {
  const email = `${unique(roles.join('-'))}@example.org`;
  return (await readyAccount(api, admin, { email, password: PASSWORD, roles, ...links })).auth;
}

async function createPatient(name = unique('Patient')): Promise<string> {
  const body = {
    name,
    email: `${unique('p')}@example.org`,
    dateOfBirth: '1980-01-01',
    gender: 'other',
    details: { insurance: { provider: 'X', policyNumber: 'Y' } },
  };
  return (expectStatus(await api('POST', '/api/patients', body, admin), 201).body as { id: string }).id;
}

async function createDoctor(): Promise<string> {
  const everyDay = Object.fromEntries(
    ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, [{ start: '00:00', end: '23:30' }]]),
  );
  const body = doctorProfile({ workingHours: everyDay, fees: { consultation: 8000, checkup: 4500 }, phone: '+1 555 0100' });
  return (expectStatus(await api('POST', '/api/doctors', body, admin), 201).body as { id: string }).id;
}

// Distinct future slots on the 30-minute grid (UTC doctor, open all day).
let slot = 0;
const nextSlot = () => {
  const start = new Date(Date.UTC(new Date().getUTCFullYear() + 1, 0, 10, 0, 0) + ++slot * 30 * 60_000);
  return start.toISOString();
};

async function book(as: Record<string, string>, patientId: string, doctorId: string, extra: Record<string, unknown> = {}) {
  return api(
    'POST',
    '/api/appointments',
    { patientId, doctorId, start: nextSlot(), durationMinutes: 30, serviceType: 'consultation', ...extra },
    as,
  );
}

async function listAll<T>(url: string, as: Record<string, string>): Promise<T[]> {
  const items: T[] = [];
  let next: string | null = url;
  while (next) {
    const page = expectStatus(await api('GET', next, undefined, as), 200).body as Page<T>;
    items.push(...page.items);
    next = page.nextCursor ? `${url}${url.includes('?') ? '&' : '?'}cursor=${page.nextCursor}` : null;
  }
  return items;
}

// The world of this test: two doctors, three patients, their accounts and some bookings.
const w = {} as {
  doctor1: string;
  doctor2: string;
  patient1: string;
  patient2: string;
  stranger: string;
  asDoctor1: Record<string, string>;
  asDoctor2: Record<string, string>;
  asPatient1: Record<string, string>;
  asPatient2: Record<string, string>;
  asUnlinked: Record<string, string>;
  asReception: Record<string, string>;
  appointment1: Appointment; // patient1 with doctor1, paid
  appointment2: Appointment; // patient2 with doctor2, paid
  invoice1: Invoice;
  invoice2: Invoice;
};

beforeAll(async () => {
  stack = await startTestStack({
    apps: ['gateway', 'auth-service', 'patient-service', 'doctor-service', 'appointment-service', 'billing-service'],
    env: { gateway: { RATE_LIMIT_PER_MINUTE: '100000' } },
  });
  api = jsonClient(stack.url('gateway'));
  admin = await bootstrapAdminAuth(stack);

  [w.doctor1, w.doctor2] = [await createDoctor(), await createDoctor()];
  [w.patient1, w.patient2, w.stranger] = [await createPatient(), await createPatient(), await createPatient()];
  w.asDoctor1 = await account(['doctor'], { doctorId: w.doctor1 });
  w.asDoctor2 = await account(['doctor'], { doctorId: w.doctor2 });
  w.asPatient1 = await account(['patient'], { patientId: w.patient1 });
  w.asPatient2 = await account(['patient'], { patientId: w.patient2 });
  w.asUnlinked = await account(['patient']);
  w.asReception = await account(['receptionist']);

  w.appointment1 = expectStatus(await book(w.asPatient1, w.patient1, w.doctor1), 201).body as Appointment;
  w.appointment2 = expectStatus(await book(w.asReception, w.patient2, w.doctor2), 201).body as Appointment;
  for (const appointment of [w.appointment1, w.appointment2]) {
    const paid = await api(
      'POST',
      `/api/appointments/${appointment.id}/payment`,
      { method: 'cash', amount: appointment.amount },
      w.asReception,
    );
    expectStatus(paid, 200);
  }
  const invoiceOf = (appointment: Appointment) =>
    eventually(async () => {
      const page = (await api('GET', `/api/billing/invoices?appointmentId=${appointment.id}`, undefined, admin)).body as Page<Invoice>;
      return page.items[0];
    });
  [w.invoice1, w.invoice2] = [await invoiceOf(w.appointment1), await invoiceOf(w.appointment2)];
}, 240_000);

afterAll(() => stack?.stop());

describe('prices belong to the clinic; payments to staff', () => {
  it('a booking takes its price from the doctor’s tariff; a client-sent amount is refused', async () => {
    expect(w.appointment1).toMatchObject({ amount: 8000, currency: 'EUR' });
    const cheap = expectStatus(await book(w.asPatient1, w.patient1, w.doctor1, { amount: 0 }), 400);
    expect(JSON.stringify(cheap.body)).toContain('amount');
    expect(w.invoice1.gross).toBe(8000);
  });

  it('a patient may not record a payment, not even of their own appointment', async () => {
    const own = expectStatus(await book(w.asPatient1, w.patient1, w.doctor1), 201).body as Appointment;
    expectStatus(await api('POST', `/api/appointments/${own.id}/payment`, { method: 'cash', amount: 0 }, w.asPatient1), 403);
    expectStatus(await api('POST', `/api/appointments/${own.id}/payment`, { method: 'cash', amount: own.amount }, w.asPatient1), 403);
    const after = expectStatus(await api('GET', `/api/appointments/${own.id}`, undefined, w.asPatient1), 200).body as { payment: unknown };
    expect(after.payment).toBeNull();
  });

  it('a patient may book only for their own record', async () => {
    expectStatus(await book(w.asPatient1, w.patient2, w.doctor1), 403);
    expectStatus(await book(w.asUnlinked, w.patient2, w.doctor1), 403);
  });
});

describe('care-team scope for doctors', () => {
  it('a doctor lists only patients in their care, following every page', async () => {
    const mine = await eventually(async () => {
      const listed = await listAll<{ id: string; details: unknown }>('/api/patients?limit=1', w.asDoctor1);
      return listed.some((p) => p.id === w.patient1) ? listed : undefined;
    });
    expect(mine.map((p) => p.id)).toEqual([w.patient1]);
    // Staff see them all.
    const all = await listAll<{ id: string }>('/api/patients?limit=100', w.asReception);
    expect(all.map((p) => p.id)).toEqual(expect.arrayContaining([w.patient1, w.patient2, w.stranger]));
  });

  it('a doctor reads a patient in their care, and no one else', async () => {
    await eventually(async () =>
      (await api('GET', `/api/patients/${w.patient1}`, undefined, w.asDoctor1)).status === 200 ? true : undefined,
    );
    expectStatus(await api('GET', `/api/patients/${w.stranger}`, undefined, w.asDoctor1), 404);
    expectStatus(await api('GET', `/api/patients/${w.patient2}`, undefined, w.asDoctor1), 404);
  });

  it('a booking brings the patient into the doctor’s care', async () => {
    const newcomer = await createPatient();
    expectStatus(await api('GET', `/api/patients/${newcomer}`, undefined, w.asDoctor2), 404);
    expectStatus(await book(w.asReception, newcomer, w.doctor2), 201);
    await eventually(async () =>
      (await api('GET', `/api/patients/${newcomer}`, undefined, w.asDoctor2)).status === 200 ? true : undefined,
    );
  });

  it('a doctor sees their own appointments and invoices — by id and in lists — and never another doctor’s', async () => {
    expectStatus(await api('GET', `/api/appointments/${w.appointment1.id}`, undefined, w.asDoctor1), 200);
    expectStatus(await api('GET', `/api/appointments/${w.appointment2.id}`, undefined, w.asDoctor1), 404);
    expectStatus(await api('GET', `/api/billing/invoices/${w.invoice1.id}`, undefined, w.asDoctor1), 200);
    expectStatus(await api('GET', `/api/billing/invoices/${w.invoice2.id}`, undefined, w.asDoctor1), 404);
    expectStatus(await api('GET', `/api/billing/invoices/${w.invoice2.id}/pdf`, undefined, w.asDoctor1), 404);
    const appointments = await listAll<Appointment>('/api/appointments?limit=100', w.asDoctor1);
    expect(appointments.length).toBeGreaterThan(0);
    expect(appointments.every((a) => a.doctorId === w.doctor1)).toBe(true);
    // The list agrees with reading by id: the doctor's invoice is in it.
    const invoices = await listAll<Invoice>('/api/billing/invoices?limit=100', w.asDoctor1);
    expect(invoices.map((i) => i.id)).toEqual([w.invoice1.id]);
    // A filter for another doctor narrows to nothing rather than widening.
    expect(await listAll<Appointment>(`/api/appointments?doctorId=${w.doctor2}`, w.asDoctor1)).toEqual([]);
  });
});

describe('patients see only their own', () => {
  it('appointments, invoices and PDFs of another patient are absent to them', async () => {
    expectStatus(await api('GET', `/api/appointments/${w.appointment2.id}`, undefined, w.asPatient1), 404);
    expectStatus(await api('GET', `/api/billing/invoices/${w.invoice2.id}`, undefined, w.asPatient1), 404);
    expectStatus(await api('GET', `/api/billing/invoices/${w.invoice2.id}/pdf`, undefined, w.asPatient1), 404);
    expectStatus(await api('GET', `/api/patients/${w.patient2}`, undefined, w.asPatient1), 404);
    const appointments = await listAll<Appointment>(`/api/appointments?patientId=${w.patient2}`, w.asPatient1);
    expect(appointments).toEqual([]);
    const invoices = await listAll<Invoice>('/api/billing/invoices', w.asPatient1);
    expect(invoices.map((i) => i.id)).toEqual([w.invoice1.id]);
    const pdf = await fetch(`${stack.url('gateway')}/api/billing/invoices/${w.invoice1.id}/pdf`, { headers: w.asPatient1 });
    expect(pdf.status).toBe(200);
    expect(pdf.headers.get('content-type')).toContain('application/pdf');
  });

  it('an account not linked to a patient record sees nothing', async () => {
    expect(await listAll('/api/appointments', w.asUnlinked)).toEqual([]);
    expect(await listAll('/api/billing/invoices', w.asUnlinked)).toEqual([]);
    expectStatus(await api('GET', `/api/patients/${w.patient1}`, undefined, w.asUnlinked), 404);
    expectStatus(await api('GET', `/api/appointments/${w.appointment1.id}`, undefined, w.asUnlinked), 404);
  });

  it('patients may not list patients, nor cancel invoices', async () => {
    expectStatus(await api('GET', '/api/patients', undefined, w.asPatient1), 403);
    expectStatus(await api('POST', `/api/billing/invoices/${w.invoice1.id}/cancel`, { reason: 'mine' }, w.asPatient1), 403);
  });
});

describe('a doctor’s email, phone and licence are for staff and the doctor themself', () => {
  type Doctor = Record<string, unknown> & { id: string };
  type FhirResource = Record<string, unknown> & { resourceType: string; id: string };
  type Bundle = { total: number; entry?: { resource: FhirResource }[] };
  const PRIVATE = ['email', 'phone', 'licenseNumber'];
  const privateOf = (doctor: Doctor) => PRIVATE.filter((field) => field in doctor);
  const contactOf = (resource: FhirResource) => ['telecom', 'identifier'].filter((element) => element in resource);
  let whole: Doctor;
  let asSelfRegistered: Record<string, string>;

  beforeAll(async () => {
    whole = expectStatus(await api('GET', `/api/doctors/${w.doctor1}`, undefined, admin), 200).body as Doctor;
    const email = `${unique('signup')}@example.org`;
    expectStatus(await api('POST', '/api/auth/register', { name: 'Sign Up', email, password: PASSWORD }), 202);
    const login = expectStatus(await api('POST', '/api/auth/login', { email, password: PASSWORD }), 200);
    asSelfRegistered = bearer((login.body as { accessToken: string }).accessToken);
  });

  const publicReaders = () => ({
    'a patient': w.asPatient1,
    'an account linked to nothing': w.asUnlinked,
    'a self-registered user': asSelfRegistered,
  });

  it('a patient and an account linked to nothing see every doctor without them, and enough to choose and book', async () => {
    for (const [who, as] of Object.entries(publicReaders())) {
      const listed = await listAll<Doctor>('/api/doctors?limit=100', as);
      expect({ who, leaked: listed.filter((d) => privateOf(d).length > 0).map((d) => d.id) }).toEqual({ who, leaked: [] });
      const read = expectStatus(await api('GET', `/api/doctors/${w.doctor1}`, undefined, as), 200).body as Doctor;
      expect({ who, leaked: privateOf(read) }).toEqual({ who, leaked: [] });
      expect(read).toMatchObject({ id: w.doctor1, name: whole.name, specialization: whole.specialization });
      expect(read).toMatchObject({ workingHours: whole.workingHours, fees: whole.fees, accepting: true });
      expect(listed.find((d) => d.id === w.doctor1)).toEqual(read);
    }
  });

  it('staff see the whole record in lists and reads; a doctor their own, and another doctor’s public profile', async () => {
    const listed = await listAll<Doctor>('/api/doctors?limit=100', w.asReception);
    expect(listed.find((d) => d.id === w.doctor1)).toMatchObject({
      email: whole.email,
      phone: '+1 555 0100',
      licenseNumber: whole.licenseNumber,
    });
    expect(expectStatus(await api('GET', `/api/doctors/${w.doctor1}`, undefined, w.asReception), 200).body).toEqual(whole);
    expect(expectStatus(await api('GET', `/api/doctors/${w.doctor1}`, undefined, w.asDoctor1), 200).body).toEqual(whole);
    const other = expectStatus(await api('GET', `/api/doctors/${w.doctor2}`, undefined, w.asDoctor1), 200).body as Doctor;
    expect(privateOf(other)).toEqual([]);
  });

  it('FHIR Practitioner and PractitionerRole carry no telecom or licence identifier for them; staff get both', async () => {
    for (const [who, as] of Object.entries(publicReaders())) {
      const resources = [
        expectStatus(await api('GET', `/api/fhir/Practitioner/${w.doctor1}`, undefined, as), 200).body as FhirResource,
        expectStatus(await api('GET', `/api/fhir/PractitionerRole/${w.doctor1}`, undefined, as), 200).body as FhirResource,
        ...(
          (
            expectStatus(await api('GET', `/api/fhir/Practitioner?name=${encodeURIComponent(whole.name as string)}`, undefined, as), 200)
              .body as Bundle
          ).entry ?? []
        ).map((e) => e.resource),
        ...(
          (
            expectStatus(await api('GET', `/api/fhir/PractitionerRole?practitioner=Practitioner/${w.doctor1}`, undefined, as), 200)
              .body as Bundle
          ).entry ?? []
        ).map((e) => e.resource),
      ];
      expect(resources.map((r) => `${r.resourceType}/${r.id}`)).toEqual([
        `Practitioner/${w.doctor1}`,
        `PractitionerRole/${w.doctor1}`,
        `Practitioner/${w.doctor1}`,
        `PractitionerRole/${w.doctor1}`,
      ]);
      expect({ who, leaked: resources.flatMap(contactOf) }).toEqual({ who, leaked: [] });
    }
    const practitioner = expectStatus(await api('GET', `/api/fhir/Practitioner/${w.doctor1}`, undefined, w.asReception), 200).body;
    expect(practitioner).toMatchObject({
      identifier: [{ value: whole.licenseNumber }],
      telecom: [
        { system: 'email', value: whole.email },
        { system: 'phone', value: '+1 555 0100' },
      ],
    });
    const role = expectStatus(await api('GET', `/api/fhir/PractitionerRole/${w.doctor1}`, undefined, w.asReception), 200).body;
    expect(role).toMatchObject({ telecom: [{ system: 'phone', value: '+1 555 0100' }] });
  });

  it('searching doctors by email address is for staff: anyone else is refused with the reason, and a name search matches names only', async () => {
    const email = whole.email as string;
    const byEmail = `/api/doctors?q=${encodeURIComponent(email)}`;
    const found = expectStatus(await api('GET', byEmail, undefined, w.asReception), 200).body as Page<Doctor>;
    expect(found.items.map((d) => d.id)).toEqual([w.doctor1]);
    for (const as of Object.values(publicReaders())) {
      expect(expectStatus(await api('GET', byEmail, undefined, as), 403).body).toMatchObject({
        detail: expect.stringMatching(/email.*staff/),
      });
      const fhir = expectStatus(await api('GET', `/api/fhir/Practitioner?name=${encodeURIComponent(email)}`, undefined, as), 403);
      expect(fhir.body).toMatchObject({ resourceType: 'OperationOutcome' });
      // The part before the @ is not a name: it finds no one, as a guess at an address would.
      const localPart = email.split('@')[0]!;
      expect(
        (expectStatus(await api('GET', `/api/doctors?q=${encodeURIComponent(localPart)}`, undefined, as), 200).body as Page<Doctor>).items,
      ).toEqual([]);
    }
    expect(expectStatus(await api('GET', byEmail, undefined, w.asDoctor1), 403).body).toMatchObject({ status: 403 });
  });
});

describe('no identity is no access; peers act as themselves', () => {
  /** Straight to a service's sidecar invocation API, as a process in that pod could. */
  const viaSidecarOf = (appId: string) => jsonClient(`http://127.0.0.1:${stack.member(appId).app.daprHttpPort}`);
  const forged = { 'x-caregrid-user-id': 'intruder', 'x-caregrid-roles': 'admin', 'dapr-caller-app-id': 'gateway' };

  it('forged identity headers from a non-gateway caller change nothing', async () => {
    const fromDoctorPod = viaSidecarOf('doctor-service');
    expectStatus(await fromDoctorPod('GET', `/v1.0/invoke/patient-service/method/patients/${w.patient1}`, undefined, forged), 403);
    expectStatus(await fromDoctorPod('GET', '/v1.0/invoke/patient-service/method/patients', undefined, forged), 403);
    expectStatus(await fromDoctorPod('POST', '/v1.0/invoke/auth-service/method/auth/users', { name: 'x' }, forged), 403);
    expectStatus(await fromDoctorPod('GET', `/v1.0/invoke/billing-service/method/invoices/${w.invoice1.id}`, undefined, forged), 403);
  });

  it('a peer has exactly the rights the model gives its app-id', async () => {
    const fromAppointmentPod = viaSidecarOf('appointment-service');
    expectStatus(await fromAppointmentPod('GET', `/v1.0/invoke/patient-service/method/patients/${w.patient1}`), 200);
    expectStatus(
      await fromAppointmentPod('PATCH', `/v1.0/invoke/patient-service/method/patients/${w.patient1}`, { name: 'Pwned' }, forged),
      403,
    );
    expectStatus(await fromAppointmentPod('GET', '/v1.0/invoke/patient-service/method/patients', undefined, forged), 403);
  });

  it('event routes take deliveries from their own sidecar only, never an invocation', async () => {
    const paid = {
      specversion: '1.0',
      id: `forged-${Date.now()}`,
      source: 'appointment-service',
      type: 'caregrid.appointment.paid.v1',
      data: { ...w.appointment1, appointmentId: w.appointment1.id, paymentMethod: 'cash', paidAt: new Date().toISOString() },
    };
    const fromDoctorPod = viaSidecarOf('doctor-service');
    expectStatus(await fromDoctorPod('POST', '/v1.0/invoke/billing-service/method/events/appointment-paid', paid), 403);
    expectStatus(await fromDoctorPod('POST', '/v1.0/invoke/patient-service/method/events/appointment-booked', paid), 403);
    expectStatus(await api('POST', '/api/billing/events/appointment-paid', paid, admin), 403);
  });

  it('a service publishes only to the topics it owns', async () => {
    const publish = (appId: string, topic: string) =>
      fetch(`http://127.0.0.1:${stack.member(appId).app.daprHttpPort}/v1.0/publish/events/${topic}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ probe: true }),
      }).then((response) => response.status);
    expect(await publish('doctor-service', 'appointments')).toBe(403); // a forged appointment.paid goes nowhere
    expect(await publish('patient-service', 'invoices')).toBe(403);
    expect(await publish('billing-service', 'patients')).toBe(403);
    // Allowed: its own dead letters (no one else reads that topic).
    expect(await publish('patient-service', 'appointments.patient-service.dlq')).toBe(204);
  });

  it('the merged API document lists no subscriber or binding route', async () => {
    const document = expectStatus(await api('GET', '/docs/openapi.json'), 200).body as { paths: Record<string, unknown> };
    const paths = Object.keys(document.paths);
    expect(paths.filter((p) => p.includes('/events/') || p.includes('appointment-cleanup'))).toEqual([]);
    expect(paths).toEqual(expect.arrayContaining(['/api/patients/{id}', '/api/billing/invoices/{id}/pdf']));
  });
});

describe('a sidecar holding a gateway certificate is no user without a valid token of one', () => {
  /**
   * A process that got a `gateway` certificate from Sentry (Sentry signs whatever app-id it is
   * asked for, README Trust model) and runs a daprd of its own, without the gateway's JWT policy:
   * patient-service's sidecar accepts its calls as the gateway's (mTLS, ACL), so its identity
   * headers and tokens reach patient-service's own check.
   */
  let impostor: { httpPort: number; stop: () => Promise<void> };
  const forgedAdmin = { 'x-caregrid-user-id': 'intruder', 'x-caregrid-roles': 'admin' };
  const asGateway = (url: string, headers: Record<string, string>) =>
    fetch(`http://127.0.0.1:${impostor.httpPort}/v1.0/invoke/patient-service/method${url}`, { headers }).then(async (response) => ({
      status: response.status,
      body: (await response.text()).slice(0, 300),
    }));

  beforeAll(async () => {
    const app = createServer((_req, res) => res.end('{}'));
    const appPort = await freePort();
    await new Promise<void>((resolve) => app.listen(appPort, '127.0.0.1', resolve));
    const sidecar = startSidecar({
      appId: 'gateway',
      appPort,
      ...(await freeSidecarPorts()),
      // No components (no JWT policy); the services' Configuration: this stack's mTLS and name resolution.
      resourcesPaths: [mkdtempSync(path.join(tmpdir(), 'caregrid-impostor-'))],
      configFile: stack.member('patient-service').app.configFile,
      env: { CAREGRID_SECRETS_FILE: stack.secretsFile },
      logFile: path.join(stack.logDir, 'impostor-gateway-daprd.log'),
    });
    await sidecar.waitReady();
    impostor = { httpPort: sidecar.httpPort, stop: async () => (await sidecar.stop(), void app.close()) };
  }, 90_000);
  afterAll(() => impostor?.stop());

  it('answers 401 to identity headers without a token, with a token of another key, and with an expired one', async () => {
    const stackKey = stackSigningKey(stack.secrets());
    const expired = testAccessToken(
      { roles: ['admin'], userId: 'intruder' },
      { key: stackKey, overrides: { iat: Math.floor(Date.now() / 1000) - 3600, exp: Math.floor(Date.now() / 1000) - 60 } },
    );
    const attempts = {
      'identity headers, no token': forgedAdmin,
      'a token signed by another key': { ...forgedAdmin, authorization: `Bearer ${testAccessToken({ roles: ['admin'] })}` },
      'an expired token of the real key': { ...forgedAdmin, authorization: `Bearer ${expired}` },
      'a token for another audience': {
        ...forgedAdmin,
        authorization: `Bearer ${testAccessToken({ roles: ['admin'] }, { key: stackKey, overrides: { aud: 'elsewhere' } })}`,
      },
    };
    // The first call may race the impostor's registration in name resolution.
    await eventually(async () => ((await asGateway(`/patients/${w.patient1}`, forgedAdmin)).status < 500 ? true : undefined));
    const outcomes: Record<string, number[]> = {};
    for (const [attempt, headers] of Object.entries(attempts)) {
      const one = await asGateway(`/patients/${w.patient1}`, headers);
      const list = await asGateway('/patients', headers);
      // No patient data: a record or a page of them has dates of birth, a problem has none.
      expect([attempt, one.body, list.body].join(' ')).not.toContain('dateOfBirth');
      outcomes[attempt] = [one.status, list.status];
    }
    expect(outcomes).toEqual(Object.fromEntries(Object.keys(attempts).map((attempt) => [attempt, [401, 401]])));
  });

  it("believes the token, not the headers: a patient's valid token with forged admin headers is that patient's", async () => {
    const patientToken = w.asPatient1.authorization!;
    expect((await asGateway(`/patients/${w.patient2}`, { ...forgedAdmin, authorization: patientToken })).status).toBe(404);
    expect((await asGateway(`/patients/${w.patient1}`, { ...forgedAdmin, authorization: patientToken })).status).toBe(200);
  });

  it('a signed-in admin through the real gateway still reads every patient', async () => {
    expectStatus(await api('GET', `/api/patients/${w.patient1}`, undefined, admin), 200);
    expect(
      (expectStatus(await api('GET', '/api/patients', undefined, admin), 200).body as Page<{ id: string }>).items.length,
    ).toBeGreaterThan(0);
  });
});
