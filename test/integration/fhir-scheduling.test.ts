/**
 * Scheduling the FHIR way (issue 29), as a client meets it through the real
 * gateway: a Slot's schedule reference resolves to the practitioner's
 * Schedule, and an Appointment booked by its Slot reference takes that slot,
 * through the same booking use case (and access checks) as the JSON API.
 * Every answer is validated against the official R4 JSON schema.
 */
import { expectStatus, jsonClient, bootstrapAdminAuth, startTestStack, type TestStack } from '@caregrid/devkit';
import { clinicRecords, fhirClient, type Json } from './fhir-client.js';

let stack: TestStack;
let api: ReturnType<typeof jsonClient>;
let admin: Record<string, string>;

type Bundle = { resourceType: 'Bundle'; total: number; entry?: { fullUrl: string; resource: Json & { id: string } }[] };

const { fhir, search: searchOf, expectOutcome } = fhirClient(() => stack);
const search = (url: string, as: Record<string, string>) => searchOf<Bundle>(url, as);
const { account, createPatient, createDoctor } = clinicRecords(() => ({ api, admin }));

const NEXT_YEAR = new Date().getUTCFullYear() + 1;
const at = (month: number, day: number, hour: number, minute = 0) =>
  new Date(Date.UTC(NEXT_YEAR, month - 1, day, hour, minute)).toISOString();
const dayOf = (month: number, day: number) => `start=ge${at(month, day, 0)}&start=lt${at(month, day + 1, 0)}`;

const consultation = [{ coding: [{ system: 'urn:caregrid:service-type', code: 'consultation' }] }];

/** A booking by Slot reference: the patient, the service, the slot; nothing else needed. */
const bySlot = (patientId: string, slotId: string, extra: Json = {}) => ({
  resourceType: 'Appointment',
  status: 'booked',
  serviceType: consultation,
  slot: [{ reference: `Slot/${slotId}` }],
  participant: [{ actor: { reference: `Patient/${patientId}` } }],
  ...extra,
});

const w = {} as {
  doctor: string; // 09:00–11:00 UTC every day: four 30-minute slots
  patient1: string;
  patient2: string;
  patient3: string;
  asPatient1: Record<string, string>;
  asPatient2: Record<string, string>;
  asReception: Record<string, string>;
};

beforeAll(async () => {
  stack = await startTestStack({
    apps: ['gateway', 'auth-service', 'patient-service', 'doctor-service', 'appointment-service'],
    env: { gateway: { RATE_LIMIT_PER_MINUTE: '100000' } },
  });
  api = jsonClient(stack.url('gateway'));
  admin = await bootstrapAdminAuth(stack);
  const run = `Sched${Date.now().toString(36)}`;
  w.doctor = await createDoctor({ start: '09:00', end: '11:00' });
  w.patient1 = await createPatient(`${run} Ann`);
  w.patient2 = await createPatient(`${run} Bea`);
  w.patient3 = await createPatient(`${run} Cid`);
  w.asPatient1 = await account(['patient'], { patientId: w.patient1 });
  w.asPatient2 = await account(['patient'], { patientId: w.patient2 });
  w.asReception = await account(['receptionist']);
}, 240_000);

afterAll(() => stack?.stop());

describe('Schedule', () => {
  it('a Slot’s schedule reference resolves to the practitioner’s Schedule, found by actor too; an unknown one is a 404', async () => {
    const slots = await search(`/api/fhir/Slot?schedule.actor=Practitioner/${w.doctor}&${dayOf(6, 1)}`, w.asPatient1);
    const reference = (slots.entry![0]!.resource.schedule as { reference: string }).reference;
    expect(reference).toBe(`Schedule/${w.doctor}`);

    const schedule = await fhir('GET', `/api/fhir/${reference}`, w.asPatient1);
    expect(schedule.status).toBe(200);
    expect(schedule.body).toMatchObject({
      resourceType: 'Schedule',
      id: w.doctor,
      active: true,
      actor: [{ reference: `Practitioner/${w.doctor}` }],
    });
    // What can be booked: from now to the end of the booking horizon.
    const horizon = schedule.body.planningHorizon as { start: string; end: string };
    expect(Date.parse(horizon.end)).toBeGreaterThan(Date.parse(at(6, 1, 0)));

    for (const actor of [`Practitioner/${w.doctor}`, w.doctor]) {
      const found = await search(`/api/fhir/Schedule?actor=${actor}`, w.asPatient1);
      expect([found.total, found.entry?.map((e) => e.resource.id)]).toEqual([1, [w.doctor]]);
    }
    const none = await search('/api/fhir/Schedule?actor=Practitioner/00000000-0000-7000-8000-000000000000', admin);
    expect([none.total, none.entry]).toEqual([0, undefined]);
    expect((await search(`/api/fhir/Schedule?actor=${w.doctor}&_summary=count`, admin)).total).toBe(1);

    await expectOutcome('GET', '/api/fhir/Schedule/00000000-0000-7000-8000-000000000000', w.asPatient1, 404);
    await expectOutcome('GET', '/api/fhir/Schedule/not-a-doctor', w.asPatient1, 404);
    await expectOutcome('GET', '/api/fhir/Schedule', admin, 400);
  });

  it('the CapabilityStatement states Schedule read and search by actor', async () => {
    const statement = (await fhir('GET', '/api/fhir/metadata', {})).body as {
      rest: { resource: { type: string; interaction: { code: string }[]; searchParam?: { name: string }[] }[] }[];
    };
    const schedule = statement.rest[0]!.resource.find((r) => r.type === 'Schedule');
    expect(schedule?.interaction.map((i) => i.code).sort()).toEqual(['read', 'search-type']);
    expect(schedule?.searchParam?.map((p) => p.name)).toContain('actor');
  });
});

describe('booking by Slot reference', () => {
  it('Slot search → booking by reference: 201 on that slot, which is gone; the same slot again is a 409 that names no appointment', async () => {
    const free = await search(`/api/fhir/Slot?practitioner=${w.doctor}&${dayOf(6, 2)}`, w.asPatient1);
    expect(free.total).toBe(4);
    const slot = free.entry![1]!.resource;

    const created = await fhir('POST', '/api/fhir/Appointment', w.asPatient1, bySlot(w.patient1, slot.id));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      status: 'booked',
      start: slot.start,
      end: slot.end,
      participant: [{ actor: { reference: `Patient/${w.patient1}` } }, { actor: { reference: `Practitioner/${w.doctor}` } }],
    });
    const booked = created.body.id as string;
    expect(expectStatus(await api('GET', `/api/appointments/${booked}`, undefined, admin), 200).body).toMatchObject({
      patientId: w.patient1,
      doctorId: w.doctor,
      amount: 8000,
    });

    const left = await search(`/api/fhir/Slot?practitioner=${w.doctor}&${dayOf(6, 2)}`, w.asPatient1);
    expect([left.total, left.entry?.map((e) => e.resource.id).includes(slot.id)]).toEqual([3, false]);

    // Another patient, then staff, ask for the same slot: taken, and another patient's appointment stays unnamed.
    const again = await expectOutcome('POST', '/api/fhir/Appointment', w.asPatient2, 409, bySlot(w.patient2, slot.id));
    expect(again.issue[0]!.code).toBe('conflict');
    expect(JSON.stringify(again)).not.toContain(booked);
    await expectOutcome('POST', '/api/fhir/Appointment', w.asReception, 409, bySlot(w.patient3, slot.id));
  });

  it('of two bookings of one slot at once, one is made and the other is a 409', async () => {
    const slot = `${w.doctor}.${NEXT_YEAR}06031000`;
    const answers = await Promise.all([
      fhir('POST', '/api/fhir/Appointment', w.asReception, bySlot(w.patient2, slot)),
      fhir('POST', '/api/fhir/Appointment', w.asReception, bySlot(w.patient3, slot)),
    ]);
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409]);
    expect(answers.find((a) => a.status === 409)!.body.resourceType).toBe('OperationOutcome');
  });

  it('a slot that never was free (outside the hours, off the grid) is a 409', async () => {
    await expectOutcome('POST', '/api/fhir/Appointment', w.asReception, 409, bySlot(w.patient3, `${w.doctor}.${NEXT_YEAR}06041200`));
    await expectOutcome('POST', '/api/fhir/Appointment', w.asReception, 409, bySlot(w.patient3, `${w.doctor}.${NEXT_YEAR}06040910`));
  });

  it('start, end and practitioner given besides the slot must agree with it (400), and then book it', async () => {
    const slot = `${w.doctor}.${NEXT_YEAR}06050900`;
    const stated = (extra: Json) => bySlot(w.patient3, slot, extra);
    const practitioner = [{ actor: { reference: `Patient/${w.patient3}` } }, { actor: { reference: `Practitioner/${w.doctor}` } }];
    const start = await expectOutcome('POST', '/api/fhir/Appointment', w.asReception, 400, stated({ start: at(6, 5, 9, 30) }));
    expect(start.issue.flatMap((i) => i.expression ?? [])).toEqual(['Appointment.start']);
    const end = await expectOutcome('POST', '/api/fhir/Appointment', w.asReception, 400, stated({ end: at(6, 5, 10) }));
    expect(end.issue[0]!.diagnostics).toMatch(/end/);
    const otherDoctor = [practitioner[0], { actor: { reference: 'Practitioner/00000000-0000-7000-8000-000000000000' } }];
    const doctor = await expectOutcome('POST', '/api/fhir/Appointment', w.asReception, 400, stated({ participant: otherDoctor }));
    expect(doctor.issue.flatMap((i) => i.expression ?? [])).toEqual(['Appointment.participant']);
    // Nothing was booked by those.
    expect((await search(`/api/fhir/Slot?practitioner=${w.doctor}&${dayOf(6, 5)}`, admin)).total).toBe(4);

    const agreeing = stated({ start: at(6, 5, 9), end: at(6, 5, 9, 30), participant: practitioner });
    const made = await fhir('POST', '/api/fhir/Appointment', w.asReception, agreeing);
    expect([made.status, made.body.start, made.body.end]).toEqual([201, at(6, 5, 9), at(6, 5, 9, 30)]);
  });

  it('a patient booking another patient by slot is refused as by the JSON API, and nothing is booked', async () => {
    const slot = `${w.doctor}.${NEXT_YEAR}06060900`;
    const foreign = await fhir('POST', '/api/fhir/Appointment', w.asPatient1, bySlot(w.patient2, slot));
    const native = await api(
      'POST',
      '/api/appointments',
      { patientId: w.patient2, doctorId: w.doctor, start: at(6, 6, 9), end: at(6, 6, 9, 30), serviceType: 'consultation' },
      w.asPatient1,
    );
    expect([foreign.status, foreign.body.resourceType]).toEqual([native.status, 'OperationOutcome']);
    expect(foreign.status).toBe(403);
    expect((await search(`/api/fhir/Slot?practitioner=${w.doctor}&${dayOf(6, 6)}`, admin)).total).toBe(4);
  });
});
