/**
 * The FHIR R4 API as a client meets it: through the real gateway (JWT policy
 * in its daprd) to each service over its own sidecar and database. Every
 * resource and Bundle answered is validated against the official R4 JSON
 * schema; searches page by their next links; errors are OperationOutcomes;
 * the access model holds as for the JSON API.
 */
import { eventually, jsonClient, bootstrapAdminAuth, startTestStack, expectStatus, type TestStack } from '@caregrid/devkit';
import { clinicRecords, fhirClient, type Json, type Outcome } from './fhir-client.js';

let stack: TestStack;
let api: ReturnType<typeof jsonClient>;
let admin: Record<string, string>;

type Bundle = {
  resourceType: 'Bundle';
  total: number;
  link: { relation: string; url: string }[];
  entry?: { fullUrl: string; resource: Json & { id: string } }[];
};

const { fhir, search: searchOf, expectOutcome } = fhirClient(() => stack);
const search = (url: string, as: Record<string, string>) => searchOf<Bundle>(url, as);
const records = clinicRecords(() => ({ api, admin }));
const { account, createDoctor } = records;
const createPatient = (name: string, dateOfBirth: string, policyNumber: string) =>
  records.createPatient(name, { dateOfBirth, details: { insurance: { provider: 'Acme Health', policyNumber } } });
/** Fees of the doctors here: vaccination too (HL7 service-type 57). */
const FEES = { consultation: 8000, checkup: 4500, vaccination: 3000 };

const RUN = `Fhir${Date.now().toString(36)}`;
const NEXT_YEAR = new Date().getUTCFullYear() + 1;

/** A FHIR request: fhir+json (or the given type) in, and the answer checked to be fhir+json. */

const nextOf = (bundle: Bundle) => {
  const next = bundle.link.find((link) => link.relation === 'next')?.url;
  return next === undefined ? undefined : new URL(next);
};

/** Every entry of a search, following its next links to the end; checks each page's total. */
async function searchAll(url: string, as: Record<string, string>): Promise<{ total: number; ids: string[]; pages: number }> {
  let bundle = await search(url, as);
  const total = bundle.total;
  const ids: string[] = [];
  let pages = 1;
  for (;;) {
    ids.push(...(bundle.entry ?? []).map((entry) => entry.resource.id));
    expect(bundle.total).toBe(total);
    const next = nextOf(bundle);
    if (!next) break;
    // Next links are public gateway URLs under /api/fhir.
    expect(next.pathname.startsWith('/api/fhir/')).toBe(true);
    bundle = await search(`${next.pathname}${next.search}`, as);
    pages++;
  }
  return { total, ids, pages };
}

/** A FHIR booking of a 30-minute consultation. */
const booking = (patientId: string, doctorId: string, start: string) => ({
  resourceType: 'Appointment',
  status: 'booked',
  serviceType: [{ coding: [{ system: 'urn:caregrid:service-type', code: 'consultation' }] }],
  reasonCode: [{ text: 'Chest pain' }],
  start,
  end: new Date(Date.parse(start) + 30 * 60_000).toISOString(),
  participant: [{ actor: { reference: `Patient/${patientId}` } }, { actor: { reference: `Practitioner/${doctorId}` } }],
});

const at = (month: number, day: number, hour: number, minute = 0) =>
  new Date(Date.UTC(NEXT_YEAR, month - 1, day, hour, minute)).toISOString();

const w = {} as {
  doctor1: string; // open all day
  doctor2: string; // 09:00–11:00 UTC: four slots a day
  patient1: string;
  patient2: string;
  patient3: string;
  asPatient1: Record<string, string>;
  asDoctor1: Record<string, string>;
  asReception: Record<string, string>;
};

beforeAll(async () => {
  stack = await startTestStack({
    apps: ['gateway', 'auth-service', 'patient-service', 'doctor-service', 'appointment-service', 'billing-service'],
    env: { gateway: { RATE_LIMIT_PER_MINUTE: '100000' } },
  });
  api = jsonClient(stack.url('gateway'));
  admin = await bootstrapAdminAuth(stack);

  w.doctor1 = await createDoctor({ start: '00:00', end: '23:30' }, FEES);
  w.doctor2 = await createDoctor({ start: '09:00', end: '11:00' }, FEES);
  w.patient1 = await createPatient(`${RUN} Ann`, '1984-02-29', `${RUN}-P1`);
  w.patient2 = await createPatient(`${RUN} Bea`, '1992-07-01', `${RUN}-P2`);
  w.patient3 = await createPatient(`${RUN} Cid`, '2001-12-31', `${RUN}-P3`);
  w.asPatient1 = await account(['patient'], { patientId: w.patient1 });
  w.asDoctor1 = await account(['doctor'], { doctorId: w.doctor1 });
  w.asReception = await account(['receptionist']);
}, 240_000);

afterAll(() => stack?.stop());

describe('the CapabilityStatement', () => {
  it('is public at /api/fhir/metadata and states every type with its search parameters', async () => {
    const answer = await fhir('GET', '/api/fhir/metadata', {});
    expect(answer.status).toBe(200);
    const rest = (answer.body as { rest: { resource: { type: string; searchParam: { name: string }[] }[] }[] }).rest[0]!;
    expect(rest.resource.map((r) => r.type)).toEqual([
      'Patient',
      'Practitioner',
      'PractitionerRole',
      'Appointment',
      'Slot',
      'Schedule',
      'Invoice',
      'CommunicationRequest',
      'Communication',
    ]);
    expect(rest.resource.find((r) => r.type === 'Slot')!.searchParam.map((p) => p.name)).toContain('schedule.actor');
  });
});

describe('Patient', () => {
  it('searches by name with total and a followed next link, by identifier (id, insurance policy) and birthdate', async () => {
    const byName = await searchAll(`/api/fhir/Patient?name=${RUN}&_count=2`, admin);
    expect(byName).toEqual({ total: 3, ids: [w.patient1, w.patient2, w.patient3], pages: 2 });

    const policy = await search(`/api/fhir/Patient?identifier=${encodeURIComponent(`urn:caregrid:insurance-policy|${RUN}-P2`)}`, admin);
    expect([policy.total, policy.entry?.map((e) => e.resource.id)]).toEqual([1, [w.patient2]]);
    const byId = await search(`/api/fhir/Patient?identifier=${w.patient3}`, admin);
    expect([byId.total, byId.entry?.map((e) => e.resource.id)]).toEqual([1, [w.patient3]]);

    const born = await search(`/api/fhir/Patient?name=${RUN}&birthdate=ge1990&birthdate=lt2001-12-31`, admin);
    expect([born.total, born.entry?.map((e) => e.resource.id)]).toEqual([1, [w.patient2]]);
    const leapDay = await search(`/api/fhir/Patient?name=${RUN}&birthdate=1984-02`, admin);
    expect(leapDay.entry?.map((e) => e.resource.id)).toEqual([w.patient1]);
  });

  it('searches names as FHIR does (the start of any part, family, given, :exact) and answers HumanName in parts', async () => {
    const ids = async (query: string) => (await search(`/api/fhir/Patient?${query}`, admin)).entry?.map((e) => e.resource.id);
    expect(await ids(`name=bea&name=${RUN}`)).toEqual([w.patient2]);
    expect(await ids(`family=BE&given=${RUN}`)).toEqual([w.patient2]);
    expect(await ids(`name:exact=Bea&given=${RUN}`)).toEqual([w.patient2]);
    expect(await ids(`name:exact=bea&given=${RUN}`)).toBeUndefined();
    const read = await fhir('GET', `/api/fhir/Patient/${w.patient2}`, admin);
    expect(read.body.name).toEqual([{ use: 'official', text: `${RUN} Bea`, family: 'Bea', given: [RUN] }]);
  });

  it('reads one; unknown parameters and bad values are 400 OperationOutcomes', async () => {
    const read = await fhir('GET', `/api/fhir/Patient/${w.patient1}`, admin);
    expect([read.status, read.body.resourceType, read.body.id, read.body.birthDate]).toEqual([200, 'Patient', w.patient1, '1984-02-29']);
    // Identifiers typed by HL7 v2 table 0203: our id a medical record number, the policy number a member number.
    const v2 = 'http://terminology.hl7.org/CodeSystem/v2-0203';
    expect(read.body.identifier).toEqual([
      expect.objectContaining({
        system: 'urn:caregrid:patient',
        value: w.patient1,
        type: { coding: [{ system: v2, code: 'MR', display: 'Medical record number' }] },
      }),
      expect.objectContaining({
        system: 'urn:caregrid:insurance-policy',
        value: `${RUN}-P1`,
        type: expect.objectContaining({ coding: [{ system: v2, code: 'MB', display: 'Member Number' }] }),
      }),
    ]);
    expect(read.body.text).toEqual({
      status: 'generated',
      div: `<div xmlns="http://www.w3.org/1999/xhtml">${RUN} Ann, female, born 1984-02-29</div>`,
    });

    const unknown = await expectOutcome('GET', '/api/fhir/Patient?address=x', admin, 400);
    expect(unknown.issue[0]!.diagnostics).toMatch(/^search parameter address: unknown search parameter/);
    const bad = await expectOutcome('GET', '/api/fhir/Patient?birthdate=ne1990', admin, 400);
    expect(bad.issue[0]!.diagnostics).toMatch(/^search parameter birthdate: prefix ne/);
    await expectOutcome('GET', '/api/fhir/Patient?_count=1000', admin, 400);
    const cursor = await expectOutcome('GET', '/api/fhir/Patient?_cursor=bm90LWEtY3Vyc29y', admin, 400);
    expect(cursor.issue[0]!.diagnostics).toMatch(/^search parameter _cursor:/);
    await expectOutcome('GET', '/api/fhir/Patient/00000000-0000-7000-8000-000000000000', admin, 404);
    await expectOutcome('GET', '/api/fhir/Observation', admin, 404);
    const anonymous = await expectOutcome('GET', `/api/fhir/Patient?name=${RUN}`, {}, 401);
    expect(anonymous.issue[0]!.code).toBe('login');
  });
});

describe('Appointment', () => {
  let booked: Json & { id: string };

  it('books through FHIR as the native API does: verified, priced from the tariff; the same slot again is a 409', async () => {
    const created = await fhir('POST', '/api/fhir/Appointment', w.asPatient1, booking(w.patient1, w.doctor1, at(2, 3, 10)));
    expect([created.status, created.body.status]).toEqual([201, 'booked']);
    booked = created.body as typeof booked;
    expect(created.headers.get('location')).toMatch(new RegExp(`/api/fhir/Appointment/${booked.id}$`));
    const native = expectStatus(await api('GET', `/api/appointments/${booked.id}`, undefined, admin), 200).body as Json;
    expect(native).toMatchObject({ patientId: w.patient1, doctorId: w.doctor1, amount: 8000, currency: 'EUR', reason: 'Chest pain' });

    const again = await expectOutcome('POST', '/api/fhir/Appointment', w.asReception, 409, booking(w.patient2, w.doctor1, at(2, 3, 10)));
    expect(again.issue[0]!.code).toBe('conflict');
    // A patient books only for themselves, as natively.
    await expectOutcome('POST', '/api/fhir/Appointment', w.asPatient1, 403, booking(w.patient2, w.doctor1, at(2, 3, 11)));
    // Plain application/json bodies are taken too; a price is no element of a booking.
    const invalid = await expectOutcome(
      'POST',
      '/api/fhir/Appointment',
      w.asReception,
      400,
      { ...booking(w.patient2, w.doctor1, at(2, 3, 12)), status: 'proposed', priceComponent: [] },
      'application/json',
    );
    expect(invalid.issue.flatMap((issue) => issue.expression ?? [])).toEqual(['Appointment.status', 'Appointment.priceComponent']);
  });

  it('searches by patient, practitioner, date range and status, with totals and next links, in the caller’s scope', async () => {
    for (const hour of [9, 13, 15]) {
      const made = await fhir('POST', '/api/fhir/Appointment', w.asReception, booking(w.patient2, w.doctor1, at(2, 4, hour)));
      expect(made.status).toBe(201);
    }
    const byPractitioner = await searchAll(
      `/api/fhir/Appointment?practitioner=Practitioner/${w.doctor1}&date=ge${NEXT_YEAR}-02-03&date=lt${NEXT_YEAR}-02-05&_count=2`,
      admin,
    );
    expect([byPractitioner.total, byPractitioner.ids.length, byPractitioner.pages]).toEqual([4, 4, 2]);
    const oneDay = await search(`/api/fhir/Appointment?patient=${w.patient2}&date=${NEXT_YEAR}-02-04&status=booked`, admin);
    expect(oneDay.total).toBe(3);
    const afternoon = await search(
      `/api/fhir/Appointment?patient=Patient/${w.patient2}&date=ge${at(2, 4, 12)}&date=lt${at(2, 4, 16)}`,
      admin,
    );
    expect(afternoon.total).toBe(2);

    // A patient's search: only their own, whatever they ask for.
    const own = await search(`/api/fhir/Appointment?practitioner=${w.doctor1}`, w.asPatient1);
    expect([own.total, own.entry?.map((e) => e.resource.id)]).toEqual([1, [booked.id]]);
    const others = await search(`/api/fhir/Appointment?patient=${w.patient2}`, w.asPatient1);
    expect([others.total, others.entry]).toEqual([0, undefined]);
  });

  it('books and finds by HL7’s service-type code as by ours, and answers both codings', async () => {
    const hl7 = 'http://terminology.hl7.org/CodeSystem/service-type';
    // doctor2: patient3 is none of doctor1's care team (checked below).
    const vaccination = { ...booking(w.patient3, w.doctor2, at(5, 4, 9)), serviceType: [{ coding: [{ system: hl7, code: '57' }] }] };
    const made = await fhir('POST', '/api/fhir/Appointment', w.asReception, vaccination);
    expect([made.status, made.body.serviceType]).toEqual([
      201,
      [
        {
          coding: [
            { system: hl7, code: '57', display: 'Immunization' },
            { system: 'urn:caregrid:service-type', code: 'vaccination' },
          ],
          text: 'vaccination',
        },
      ],
    ]);
    const native = expectStatus(await api('GET', `/api/appointments/${made.body.id as string}`, undefined, admin), 200).body as Json;
    expect([native.serviceType, native.amount]).toEqual(['vaccination', 3000]);
    expect(made.body.text).toEqual({
      status: 'generated',
      div: expect.stringMatching(
        new RegExp(
          `^<div xmlns="http://www.w3.org/1999/xhtml">Vaccination of ${RUN} Cid with Dr [^<]+, ${NEXT_YEAR}-05-04 09:00–09:30 UTC: booked</div>$`,
        ),
      ),
    });
    const ids = async (serviceType: string) =>
      (await search(`/api/fhir/Appointment?patient=${w.patient3}&service-type=${encodeURIComponent(serviceType)}`, admin)).entry?.map(
        (e) => e.resource.id,
      );
    for (const serviceType of [`${hl7}|57`, '57', 'urn:caregrid:service-type|vaccination', 'vaccination'])
      expect([serviceType, await ids(serviceType)]).toEqual([serviceType, [made.body.id]]);
    expect(await ids('checkup')).toBeUndefined();
  });

  it('cancels by JSON Patch and by PUT of the status, under the native rules', async () => {
    const patch = [
      { op: 'test', path: '/status', value: 'booked' },
      { op: 'replace', path: '/status', value: 'cancelled' },
      { op: 'add', path: '/cancelationReason', value: { text: 'Feeling better' } },
    ];
    const patched = await fhir('PATCH', `/api/fhir/Appointment/${booked.id}`, w.asPatient1, patch, 'application/json-patch+json');
    expect([patched.status, patched.body.status, (patched.body.cancelationReason as Json).text]).toEqual([
      200,
      'cancelled',
      'Feeling better',
    ]);
    expect(expectStatus(await api('GET', `/api/appointments/${booked.id}`, undefined, admin), 200).body).toMatchObject({
      status: 'cancelled',
      cancellationReason: 'Feeling better',
    });
    // Cancelled is final: the lifecycle says 422, as natively.
    await expectOutcome(
      'PATCH',
      `/api/fhir/Appointment/${booked.id}`,
      admin,
      422,
      [{ op: 'replace', path: '/status', value: 'booked' }],
      'application/json-patch+json',
    );

    const other = (await search(`/api/fhir/Appointment?patient=${w.patient2}&date=${NEXT_YEAR}-02-04&_count=1`, admin)).entry![0]!.resource;
    // Cancelling needs a reason (the native rule): the resource's cancelationReason.
    const unreasoned = await expectOutcome('PUT', `/api/fhir/Appointment/${other.id}`, w.asReception, 422, {
      ...other,
      status: 'cancelled',
    });
    expect(unreasoned.issue[0]!.code).toBe('business-rule');
    const cancellation = { ...other, status: 'cancelled', cancelationReason: { text: 'Clinic closed' } };
    const put = await fhir('PUT', `/api/fhir/Appointment/${other.id}`, w.asReception, cancellation);
    expect([put.status, put.body.status]).toEqual([200, 'cancelled']);
    // A resource is fhir+json (or JSON), a patch JSON Patch: anything else is a 415.
    await expectOutcome('PUT', `/api/fhir/Appointment/${other.id}`, w.asReception, 415, cancellation, 'text/plain');
    await expectOutcome('PATCH', `/api/fhir/Appointment/${other.id}`, w.asReception, 415, patch, 'application/json');
    // Times are fixed once booked.
    const moved = await expectOutcome('PUT', `/api/fhir/Appointment/${other.id}`, w.asReception, 400, { ...other, start: at(3, 1, 9) });
    expect(moved.issue[0]!.diagnostics).toMatch(/start cannot change/);
    // A patient may not touch another's appointment: as natively (403 or 404), never a change.
    const foreign = await fhir('PUT', `/api/fhir/Appointment/${other.id}`, w.asPatient1, cancellation);
    const nativeRead = await api('GET', `/api/appointments/${other.id}`, undefined, w.asPatient1);
    expect([foreign.status, foreign.body.resourceType]).toEqual([nativeRead.status, 'OperationOutcome']);
  });
});

describe('Patient in the caller’s scope', () => {
  it('a patient finds only their own record; another patient’s read is refused as natively', async () => {
    const own = await search(`/api/fhir/Patient?name=${RUN}`, w.asPatient1);
    expect([own.total, own.entry?.map((e) => e.resource.id)]).toEqual([1, [w.patient1]]);
    const foreign = await fhir('GET', `/api/fhir/Patient/${w.patient2}`, w.asPatient1);
    const nativeRead = await api('GET', `/api/patients/${w.patient2}`, undefined, w.asPatient1);
    expect([foreign.status, foreign.body.resourceType]).toEqual([nativeRead.status, 'OperationOutcome']);
    expect([403, 404]).toContain(foreign.status);
  });

  it('a doctor finds only their care team', async () => {
    // doctor1 has appointments with patient2 (one of three cancelled); patient1's only one was
    // cancelled before it took place, which ended that relation; none with patient3.
    const careTeam = await eventually(async () => {
      const found = await search(`/api/fhir/Patient?name=${RUN}`, w.asDoctor1);
      return found.total === 1 && found.entry?.[0]?.resource.id === w.patient2 ? found : undefined;
    });
    expect(careTeam.entry?.map((e) => e.resource.id)).toEqual([w.patient2]);
  });
});

describe('Slot, Practitioner, PractitionerRole, Invoice', () => {
  it('free slots of a practitioner by schedule.actor or practitioner, paged; a booked one is gone', async () => {
    const day = `start=ge${NEXT_YEAR}-03-02&start=lt${NEXT_YEAR}-03-03`;
    const free = await searchAll(`/api/fhir/Slot?schedule.actor=Practitioner/${w.doctor2}&${day}&_count=3`, admin);
    expect([free.total, free.ids.length, free.pages]).toEqual([4, 4, 2]);
    expect(free.ids[0]).toBe(`${w.doctor2}.${NEXT_YEAR}03020900`);
    const slot = await fhir('GET', `/api/fhir/Slot/${free.ids[1]}`, w.asPatient1);
    expect([slot.status, slot.body.start, slot.body.status]).toEqual([200, at(3, 2, 9, 30), 'free']);

    expect((await fhir('POST', '/api/fhir/Appointment', w.asReception, booking(w.patient3, w.doctor2, at(3, 2, 9, 30)))).status).toBe(201);
    const left = await search(`/api/fhir/Slot?practitioner=${w.doctor2}&${day}`, w.asPatient1);
    expect([left.total, left.entry?.map((e) => e.resource.start)]).toEqual([3, [at(3, 2, 9), at(3, 2, 10), at(3, 2, 10, 30)]]);
    await expectOutcome('GET', `/api/fhir/Slot/${free.ids[1]}`, admin, 404);
    await expectOutcome('GET', `/api/fhir/Slot?${day}`, admin, 400);
    await expectOutcome(
      'GET',
      `/api/fhir/Slot?practitioner=${w.doctor2}&start=ge${NEXT_YEAR}-03-01&start=lt${NEXT_YEAR}-05-01`,
      admin,
      400,
    );
  });

  it('practitioners and their roles', async () => {
    const practitioner = await fhir('GET', `/api/fhir/Practitioner/${w.doctor2}`, w.asPatient1);
    expect([practitioner.status, practitioner.body.resourceType]).toEqual([200, 'Practitioner']);
    const roles = await search(`/api/fhir/PractitionerRole?practitioner=Practitioner/${w.doctor2}`, w.asPatient1);
    expect([roles.total, roles.entry?.[0]?.resource.id]).toEqual([1, w.doctor2]);
    // The specialty in SNOMED CT (a practice setting of c80-practice-codes) first, ours beside it.
    expect(roles.entry![0]!.resource.specialty).toEqual([
      {
        coding: [
          { system: 'http://snomed.info/sct', code: '394579002', display: 'Cardiology' },
          { system: 'urn:caregrid:specialization', code: 'cardiology' },
        ],
        text: 'Cardiology',
      },
    ]);
    // A search by the standard code, with or without its system, finds the role; another specialty's code does not.
    const ofDoctor2 = `practitioner=Practitioner/${w.doctor2}`;
    for (const specialty of ['http://snomed.info/sct|394579002', '394579002', 'urn:caregrid:specialization|cardiology']) {
      const found = await search(`/api/fhir/PractitionerRole?specialty=${encodeURIComponent(specialty)}&${ofDoctor2}`, w.asPatient1);
      expect([specialty, found.total, found.entry?.[0]?.resource.id]).toEqual([specialty, 1, w.doctor2]);
    }
    const urology = await search(
      `/api/fhir/PractitionerRole?specialty=${encodeURIComponent('http://snomed.info/sct|394612005')}&${ofDoctor2}`,
      w.asPatient1,
    );
    expect(urology.total).toBe(0);
    const loinc = await expectOutcome(
      'GET',
      `/api/fhir/PractitionerRole?specialty=${encodeURIComponent('http://loinc.org|394579002')}`,
      admin,
      400,
    );
    expect(loinc.issue[0]!.diagnostics).toMatch(/^search parameter specialty: unknown system/);
    const named = await search(`/api/fhir/Practitioner?name=${encodeURIComponent('Dr ')}&_count=1`, admin);
    expect(named.total).toBeGreaterThanOrEqual(2);
    expect(nextOf(named)).toBeDefined();
  });

  it('a paid appointment’s Invoice, found by patient in the caller’s scope', async () => {
    const made = await fhir('POST', '/api/fhir/Appointment', w.asReception, booking(w.patient1, w.doctor1, at(4, 1, 9)));
    expectStatus(
      await api('POST', `/api/appointments/${made.body.id as string}/payment`, { method: 'cash', amount: 8000 }, w.asReception),
      200,
    );
    const own = await eventually(async () => {
      const found = await search(`/api/fhir/Invoice?patient=Patient/${w.patient1}`, w.asPatient1);
      // The page and the total are two reads: while billing is issuing the invoice, one may see it before the other.
      return found.total === 1 && found.entry?.length === 1 ? found : undefined;
    });
    const invoice = own.entry![0]!.resource;
    expect((invoice.totalGross as { value: number; currency: string }).currency).toBe('EUR');
    expect((await fhir('GET', `/api/fhir/Invoice/${invoice.id}`, w.asPatient1)).status).toBe(200);
    const others = await search(`/api/fhir/Invoice?patient=${w.patient2}`, w.asPatient1);
    expect(others.total).toBe(0);
  });
});

describe('interactions not offered', () => {
  /** A 405 OperationOutcome (not-supported) whose Allow header lists what is offered there. */
  async function expectNotSupported(method: string, url: string, as: Record<string, string>, allow: string, body?: unknown) {
    const answer = await fhir(method, url, as, body);
    expect([method, url, answer.status, answer.headers.get('allow'), answer.body.resourceType]).toEqual([
      method,
      url,
      405,
      allow,
      'OperationOutcome',
    ]);
    expect((answer.body as Outcome).issue[0]!.code).toBe('not-supported');
  }

  it('are a 405 OperationOutcome with Allow, for any role; anonymous is still a 401, a role refused an offered one a 403', async () => {
    const patient = { resourceType: 'Patient', name: [{ text: `${RUN} New` }], birthDate: '1990-01-01' };
    // An admin writing a Practitioner was a 403 from the role table, as if a role could ever do it.
    await expectNotSupported('POST', '/api/fhir/Practitioner', admin, 'GET', { resourceType: 'Practitioner' });
    await expectNotSupported('PUT', `/api/fhir/Practitioner/${w.doctor1}`, admin, 'GET', { resourceType: 'Practitioner', id: w.doctor1 });
    await expectNotSupported('DELETE', `/api/fhir/Patient/${w.patient1}`, admin, 'GET, PATCH, PUT');
    const appointment = (await search(`/api/fhir/Appointment?patient=${w.patient2}&_count=1`, admin)).entry![0]!.resource.id;
    await expectNotSupported('DELETE', `/api/fhir/Appointment/${appointment}`, admin, 'GET, PATCH, PUT');
    await expectNotSupported('DELETE', `/api/fhir/Appointment/${appointment}`, w.asPatient1, 'GET, PATCH, PUT');
    await expectNotSupported('DELETE', '/api/fhir/Invoice', w.asReception, 'GET');
    await expectNotSupported('POST', '/api/fhir/Slot', w.asDoctor1, 'GET', {});
    // History and operations are offered nowhere: nothing is allowed there.
    await expectNotSupported('GET', `/api/fhir/Patient/${w.patient1}/_history`, admin, '');
    await expectNotSupported('GET', '/api/fhir/Patient/$everything', admin, '');
    await expectNotSupported('POST', '/api/fhir/Appointment/$validate', admin, '', {});

    const anonymous = await expectOutcome('POST', '/api/fhir/Patient', {}, 401, patient);
    expect(anonymous.issue[0]!.code).toBe('login');
    await expectOutcome('DELETE', `/api/fhir/Appointment/${appointment}`, {}, 401);
    // Booking is offered, not to doctors.
    const refused = await expectOutcome('POST', '/api/fhir/Appointment', w.asDoctor1, 403, booking(w.patient1, w.doctor1, at(5, 1, 9)));
    expect(refused.issue[0]!.code).toBe('forbidden');
    // An unknown type is still not found, whatever the method.
    await expectOutcome('DELETE', '/api/fhir/Observation/1', admin, 404);
  });

  it('the CapabilityStatement states exactly the interactions served', async () => {
    const statement = (await fhir('GET', '/api/fhir/metadata', {})).body as {
      rest: { resource: { type: string; interaction: { code: string }[] }[] }[];
    };
    const interactions = Object.fromEntries(statement.rest[0]!.resource.map((r) => [r.type, r.interaction.map((i) => i.code).sort()]));
    expect(interactions).toMatchObject({
      Patient: ['create', 'patch', 'read', 'search-type', 'update'],
      Appointment: ['create', 'patch', 'read', 'search-type', 'update'],
    });
  });
});

describe('_summary=count', () => {
  /** How many patients the JSON API lists for a name search, page by page. */
  async function jsonApiCount(q: string, as: Record<string, string>): Promise<number> {
    let count = 0;
    let cursor: string | null = null;
    do {
      const url: string = `/api/patients?q=${encodeURIComponent(q)}&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = expectStatus(await api('GET', url, undefined, as), 200).body as { items: unknown[]; nextCursor: string | null };
      count += page.items.length;
      cursor = page.nextCursor;
    } while (cursor);
    return count;
  }

  it('a searchset with the total and no entries, as the JSON API counts the same filter', async () => {
    for (const as of [admin, w.asDoctor1]) {
      const counted = await search(`/api/fhir/Patient?name=${RUN}&_summary=count`, as);
      expect([counted.total, counted.entry, counted.link.map((l) => l.relation)]).toEqual([
        await jsonApiCount(RUN, as),
        undefined,
        ['self'],
      ]);
    }
    expect((await search(`/api/fhir/Patient?name=${RUN}&_summary=count`, admin)).total).toBe(3);
  });

  it('on every search offered: the total of the same search', async () => {
    const searches = [
      `/api/fhir/Patient?name=${RUN}&birthdate=ge1990`,
      `/api/fhir/Appointment?patient=${w.patient2}`,
      `/api/fhir/Slot?practitioner=${w.doctor2}&start=ge${NEXT_YEAR}-03-02&start=lt${NEXT_YEAR}-03-03`,
      `/api/fhir/Practitioner?name=${encodeURIComponent('Dr ')}`,
      `/api/fhir/PractitionerRole?practitioner=${w.doctor2}`,
      `/api/fhir/Invoice?patient=${w.patient1}`,
    ];
    for (const url of searches) {
      const full = await search(`${url}&_count=1`, admin);
      const counted = await search(`${url}&_summary=count`, admin);
      expect([url, counted.total, counted.entry]).toEqual([url, full.total, undefined]);
    }
    await expectOutcome('GET', `/api/fhir/Patient?name=${RUN}&_summary=text`, admin, 400);
  });
});
