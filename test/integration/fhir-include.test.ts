/**
 * FHIR `_include`, `_revinclude` and `Patient/{id}/$everything` through the real gateway (issue 29):
 * composed from the services' own reads and searches with the caller's token, so what is
 * included is what the caller may read, never what a service may. And `Slot?service-type`.
 * Every answer is validated against the official R4 JSON schema.
 */
import { eventually, expectStatus, jsonClient, bootstrapAdminAuth, startTestStack, type TestStack } from '@caregrid/devkit';
import { clinicRecords, fhirClient, type Json } from './fhir-client.js';

let stack: TestStack;
let api: ReturnType<typeof jsonClient>;
let admin: Record<string, string>;

type Entry = { fullUrl?: string; resource: Json & { id: string; resourceType: string }; search: { mode: string } };
type Bundle = { resourceType: 'Bundle'; total: number; link: { relation: string; url: string }[]; entry?: Entry[] };

const { fhir, search: searchOf, expectOutcome: outcomeOf } = fhirClient(() => stack);
const search = (url: string, as: Record<string, string>) => searchOf<Bundle>(url, as);
const expectOutcome = (url: string, as: Record<string, string>, status: number) => outcomeOf('GET', url, as, status);
const { account, createPatient, createDoctor } = clinicRecords(() => ({ api, admin }));

const RUN = `Incl${Date.now().toString(36)}`;
const DAY = 86_400_000;
/** Days from now at a UTC hour: inside the booking horizon, on doctors who work around the clock. */
const at = (days: number, hour: number) => {
  const midnight = Math.floor(Date.now() / DAY) * DAY;
  return new Date(midnight + days * DAY + hour * 3_600_000).toISOString();
};

/** `Type/id` of a page's entries in one search mode, in order. */
const keys = (bundle: Bundle, mode: string) =>
  (bundle.entry ?? []).filter((e) => e.search.mode === mode).map((e) => `${e.resource.resourceType}/${e.resource.id}`);

/** The participants of the page's matching appointments, of one type, each once. */
const referenced = (bundle: Bundle, type: string) => [
  ...new Set(
    (bundle.entry ?? [])
      .filter((e) => e.search.mode === 'match')
      .flatMap((e) => (e.resource.participant as { actor: { reference: string } }[]).map((p) => p.actor.reference))
      .filter((reference) => reference.startsWith(`${type}/`)),
  ),
];

async function book(patientId: string, doctorId: string, start: string): Promise<string> {
  const answer = await fhir('POST', '/api/fhir/Appointment', w.asReception, {
    resourceType: 'Appointment',
    status: 'booked',
    serviceType: [{ coding: [{ system: 'urn:caregrid:service-type', code: 'consultation' }] }],
    start,
    end: new Date(Date.parse(start) + 30 * 60_000).toISOString(),
    participant: [{ actor: { reference: `Patient/${patientId}` } }, { actor: { reference: `Practitioner/${doctorId}` } }],
  });
  expect(answer.status).toBe(201);
  return answer.body.id as string;
}

const w = {} as {
  doctorA: string;
  doctorB: string;
  doctorC: string; // one appointment, with patient3, cancelled: not in C's care
  patient1: string; // with A twice (one paid), with B once (paid)
  patient2: string; // with B
  patient3: string;
  p1a1: string;
  p1a2: string;
  p1b: string;
  p2b: string;
  p3c: string;
  asPatient1: Record<string, string>;
  asDoctorA: Record<string, string>;
  asDoctorC: Record<string, string>;
  asReception: Record<string, string>;
};

beforeAll(async () => {
  stack = await startTestStack({
    apps: ['gateway', 'auth-service', 'patient-service', 'doctor-service', 'appointment-service', 'billing-service'],
    env: { gateway: { RATE_LIMIT_PER_MINUTE: '100000' } },
  });
  api = jsonClient(stack.url('gateway'));
  admin = await bootstrapAdminAuth(stack);
  [w.doctorA, w.doctorB, w.doctorC] = [await createDoctor(), await createDoctor(), await createDoctor()];
  w.patient1 = await createPatient(`${RUN} Ann`);
  w.patient2 = await createPatient(`${RUN} Bea`);
  w.patient3 = await createPatient(`${RUN} Cid`);
  w.asReception = await account(['receptionist']);
  w.asPatient1 = await account(['patient'], { patientId: w.patient1 });
  w.asDoctorA = await account(['doctor'], { doctorId: w.doctorA });
  w.asDoctorC = await account(['doctor'], { doctorId: w.doctorC });

  w.p1a1 = await book(w.patient1, w.doctorA, at(20, 9));
  w.p1a2 = await book(w.patient1, w.doctorA, at(21, 9));
  w.p1b = await book(w.patient1, w.doctorB, at(22, 9));
  w.p2b = await book(w.patient2, w.doctorB, at(23, 9));
  w.p3c = await book(w.patient3, w.doctorC, at(24, 9));
  for (const id of [w.p1a1, w.p1b]) {
    expectStatus(await api('POST', `/api/appointments/${id}/payment`, { method: 'cash', amount: 8000 }, w.asReception), 200);
  }
  // The care team follows the booking events: A's holds patient1; C's patient3 until the cancellation arrives.
  const readBy = async (patientId: string, as: Record<string, string>) => (await fhir('GET', `/api/fhir/Patient/${patientId}`, as)).status;
  await eventually(async () => ((await readBy(w.patient1, w.asDoctorA)) === 200 ? true : undefined));
  await eventually(async () => ((await readBy(w.patient3, w.asDoctorC)) === 200 ? true : undefined));
  expectStatus(
    await api('POST', `/api/appointments/${w.p3c}/status`, { status: 'cancelled', reason: 'Changed plans' }, w.asReception),
    200,
  );
  await eventually(async () => ((await readBy(w.patient3, w.asDoctorC)) === 404 ? true : undefined));
  // Both invoices issued (billing subscribes to appointment.paid).
  await eventually(async () => ((await search(`/api/fhir/Invoice?patient=${w.patient1}`, admin)).total === 2 ? true : undefined));
}, 240_000);

afterAll(() => stack?.stop());

const BOTH = '_include=Appointment:patient&_include=Appointment:practitioner';

describe('_include', () => {
  it('an admin’s Appointment search gets each referenced Patient and Practitioner once, page by page, and next links keep the includes', async () => {
    const first = await search(`/api/fhir/Appointment?patient=${w.patient1}&_count=2&${BOTH}`, admin);
    expect([first.total, keys(first, 'match')]).toEqual([3, [`Appointment/${w.p1a1}`, `Appointment/${w.p1a2}`]]);
    expect(keys(first, 'include')).toEqual([`Patient/${w.patient1}`, `Practitioner/${w.doctorA}`]);
    const include = first.entry!.find((e) => e.search.mode === 'include')!;
    expect(include.fullUrl).toBe(`${stack.url('gateway')}/api/fhir/Patient/${w.patient1}`);

    const next = new URL(first.link.find((l) => l.relation === 'next')!.url);
    expect(next.searchParams.getAll('_include')).toEqual(['Appointment:patient', 'Appointment:practitioner']);
    const second = await search(`${next.pathname}${next.search}`, admin);
    expect(keys(second, 'match')).toEqual([`Appointment/${w.p1b}`]);
    expect(keys(second, 'include')).toEqual([`Patient/${w.patient1}`, `Practitioner/${w.doctorB}`]);
    expect(second.link.find((l) => l.relation === 'next')).toBeUndefined();

    const byB = await search(`/api/fhir/Appointment?practitioner=${w.doctorB}&${BOTH}`, admin);
    expect(keys(byB, 'include').sort()).toEqual([...referenced(byB, 'Patient'), ...referenced(byB, 'Practitioner')].sort());
    expect(keys(byB, 'include').sort()).toEqual([`Patient/${w.patient1}`, `Patient/${w.patient2}`, `Practitioner/${w.doctorB}`].sort());
  });

  it('a patient’s search includes their own Patient, never another’s', async () => {
    const own = await search(`/api/fhir/Appointment?${BOTH}`, w.asPatient1);
    expect(keys(own, 'match').sort()).toEqual([w.p1a1, w.p1a2, w.p1b].map((id) => `Appointment/${id}`).sort());
    expect(keys(own, 'include').filter((key) => key.startsWith('Patient/'))).toEqual([`Patient/${w.patient1}`]);
    expect(
      keys(own, 'include')
        .filter((key) => key.startsWith('Practitioner/'))
        .sort(),
    ).toEqual([`Practitioner/${w.doctorA}`, `Practitioner/${w.doctorB}`].sort());
    // Asking for another patient's appointments finds none, so includes none of theirs.
    const foreign = await search(`/api/fhir/Appointment?patient=${w.patient2}&${BOTH}`, w.asPatient1);
    expect([foreign.total, foreign.entry]).toEqual([0, undefined]);
  });

  it('leaves out what the caller may not read: a doctor sees their cancelled appointment, not the patient no longer in their care', async () => {
    const page = await search(`/api/fhir/Appointment?${BOTH}`, w.asDoctorC);
    expect([keys(page, 'match'), keys(page, 'include')]).toEqual([[`Appointment/${w.p3c}`], [`Practitioner/${w.doctorC}`]]);
  });

  it('an unsupported include is a 400 OperationOutcome naming it; without a token still a 401', async () => {
    for (const query of [
      '_include=Appointment:slot',
      '_include:iterate=Appointment:patient',
      '_revinclude=Appointment:patient',
      '_include=*',
    ]) {
      const outcome = await expectOutcome(`/api/fhir/Appointment?${query}`, admin, 400);
      expect(outcome.issue[0]!.diagnostics).toMatch(/^search parameter _(rev)?include/);
    }
    await expectOutcome(`/api/fhir/Invoice?patient=${w.patient1}&_include=Invoice:patient`, admin, 400);
    expect((await expectOutcome(`/api/fhir/Appointment?${BOTH}`, {}, 401)).issue[0]!.code).toBe('login');
  });

  it('_revinclude: a doctor’s patients with their own appointments with them, not the patient’s others', async () => {
    const page = await search(`/api/fhir/Patient?name=${RUN}&_revinclude=Appointment:patient`, w.asDoctorA);
    expect(keys(page, 'match')).toEqual([`Patient/${w.patient1}`]);
    expect(keys(page, 'include').sort()).toEqual([`Appointment/${w.p1a1}`, `Appointment/${w.p1a2}`].sort());
    const staff = await search(`/api/fhir/Patient?name=${RUN}&_revinclude=Appointment:patient`, admin);
    expect(keys(staff, 'include').sort()).toEqual([w.p1a1, w.p1a2, w.p1b, w.p2b, w.p3c].map((id) => `Appointment/${id}`).sort());
  });

  it('the CapabilityStatement states them', async () => {
    const statement = (await fhir('GET', '/api/fhir/metadata', {})).body as {
      rest: { resource: { type: string; searchInclude?: string[]; searchRevInclude?: string[]; operation?: { name: string }[] }[] }[];
    };
    const byType = Object.fromEntries(statement.rest[0]!.resource.map((r) => [r.type, r]));
    expect(byType.Appointment!.searchInclude).toEqual(['Appointment:patient', 'Appointment:practitioner']);
    expect(byType.Patient!.searchRevInclude).toEqual(['Appointment:patient']);
    expect(byType.Patient!.operation?.map((o) => o.name)).toEqual(['everything']);
  });
});

describe('Patient/{id}/$everything', () => {
  const everything = (patientId: string) => `/api/fhir/Patient/${patientId}/$everything`;

  it('the patient’s own: their record, all their appointments and their invoices', async () => {
    const bundle = await search(everything(w.patient1), w.asPatient1);
    const found = keys(bundle, 'match');
    expect(found[0]).toBe(`Patient/${w.patient1}`);
    expect(found.filter((key) => key.startsWith('Appointment/')).sort()).toEqual(
      [w.p1a1, w.p1a2, w.p1b].map((id) => `Appointment/${id}`).sort(),
    );
    const invoices = bundle.entry!.filter((e) => e.resource.resourceType === 'Invoice');
    expect(invoices).toHaveLength(2);
    expect(invoices.every((e) => (e.resource.subject as { reference: string }).reference === `Patient/${w.patient1}`)).toBe(true);
    // Another patient's is not theirs to know of.
    await expectOutcome(everything(w.patient2), w.asPatient1, 404);
  });

  it('a doctor’s, of a patient in their care: what they may read (their appointments and invoices); of one not in it: 404', async () => {
    const bundle = await search(everything(w.patient1), w.asDoctorA);
    const found = keys(bundle, 'match');
    expect(found.filter((key) => !key.startsWith('Invoice/'))).toEqual([
      `Patient/${w.patient1}`,
      `Appointment/${w.p1a1}`,
      `Appointment/${w.p1a2}`,
    ]);
    // Of patient1's two invoices, the one for A's visit.
    const invoices = bundle.entry!.filter((e) => e.resource.resourceType === 'Invoice');
    expect(invoices.map((e) => (e.resource.participant as { actor: { reference: string } }[])[0]!.actor.reference)).toEqual([
      `Practitioner/${w.doctorA}`,
    ]);
    await expectOutcome(everything(w.patient2), w.asDoctorA, 404);
    await expectOutcome(everything(w.patient3), w.asDoctorC, 404);
  });

  it('staff get all of it; a parameter is a 400; another method a 405 offering GET', async () => {
    const bundle = await search(everything(w.patient1), w.asReception);
    expect(bundle.entry!.filter((e) => e.resource.resourceType === 'Appointment')).toHaveLength(3);
    expect(bundle.entry!.filter((e) => e.resource.resourceType === 'Invoice')).toHaveLength(2);
    await expectOutcome(`${everything(w.patient1)}?start=2026-01-01`, admin, 400);
    const post = await fhir('POST', everything(w.patient1), admin, {});
    expect([post.status, post.body.resourceType]).toEqual([405, 'OperationOutcome']);
  });
});

describe('Slot?service-type', () => {
  const day = `start=ge${at(30, 0)}&start=lt${at(31, 0)}`;

  it('a practitioner’s free slots for a service type their tariff offers (ours or HL7’s code); none for one it does not', async () => {
    const all = await search(`/api/fhir/Slot?practitioner=${w.doctorA}&${day}&_summary=count`, w.asPatient1);
    expect(all.total).toBeGreaterThan(40);
    for (const type of ['consultation', 'urn:caregrid:service-type|checkup']) {
      const offered = await search(
        `/api/fhir/Slot?practitioner=${w.doctorA}&${day}&service-type=${encodeURIComponent(type)}&_count=1`,
        w.asPatient1,
      );
      expect([type, offered.total]).toEqual([type, all.total]);
      const codes = (offered.entry![0]!.resource.serviceType as { coding: { code: string }[] }[]).map((c) => c.coding.at(-1)!.code);
      expect(codes).toEqual(['consultation', 'checkup']);
    }
    for (const type of ['vaccination', encodeURIComponent('http://terminology.hl7.org/CodeSystem/service-type|57')]) {
      const none = await search(`/api/fhir/Slot?practitioner=${w.doctorA}&${day}&service-type=${type}`, w.asPatient1);
      expect([type, none.total, none.entry]).toEqual([type, 0, undefined]);
    }
    await expectOutcome(`/api/fhir/Slot?practitioner=${w.doctorA}&${day}&service-type=massage`, w.asPatient1, 400);
  });
});
