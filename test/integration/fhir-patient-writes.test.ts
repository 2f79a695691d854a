/**
 * FHIR Patient writes as a client meets them, through the real gateway (JWT policy in its daprd)
 * to patient-service and its database: create (plain, conditional, idempotent), update with and
 * without If-Match, JSON Patch under the JSON API's rules (staff any field, a patient their
 * contact details), 405 for what is not offered, and the audit entries of the JSON API's writes.
 * Every answer is valid FHIR R4 (the official JSON schema), errors OperationOutcomes.
 */
import { bootstrapAdminAuth, eventually, expectStatus, jsonClient, startTestStack, unique, type TestStack } from '@caregrid/devkit';
import { clinicRecords, fhirClient, type Json, type Outcome } from './fhir-client.js';

let stack: TestStack;
let api: ReturnType<typeof jsonClient>;
let admin: Record<string, string>;
let reception: Record<string, string>;

type FhirPatient = Json & { id: string; meta: { versionId: string }; telecom: { system: string; value: string }[] };

const { fhir, expectOutcome: outcomeOf } = fhirClient(() => stack);
const expectOutcome = (status: number, method: string, url: string, as: Record<string, string>, body?: unknown, headers = {}) =>
  outcomeOf(method, url, as, status, body, headers);
const { account } = clinicRecords(() => ({ api, admin }));

const RUN = `Fpw${Date.now().toString(36)}`;
const started = new Date(Date.now() - 60_000).toISOString();

const policy = (value: string) => ({
  use: 'secondary',
  system: 'urn:caregrid:insurance-policy',
  value,
  assigner: { display: 'Acme Health' },
});

/** A new Patient as a FHIR client writes it. */
const newPatient = (given: string, policyNumber: string) => ({
  resourceType: 'Patient',
  identifier: [policy(policyNumber)],
  name: [{ family: RUN, given: [given] }],
  telecom: [
    { system: 'email', value: `${unique(given.toLowerCase())}@example.org` },
    { system: 'phone', value: '+49 30 111' },
  ],
  gender: 'female',
  birthDate: '1980-05-17',
  address: [{ text: 'Hauptstraße 1, Berlin' }],
});

async function create(given: string, policyNumber: string): Promise<FhirPatient> {
  const answer = await fhir('POST', '/api/fhir/Patient', reception, newPatient(given, policyNumber));
  expect(answer.status).toBe(201);
  return answer.body as FhirPatient;
}

beforeAll(async () => {
  stack = await startTestStack({
    apps: ['gateway', 'auth-service', 'patient-service', 'analytics-service'],
    env: { gateway: { RATE_LIMIT_PER_MINUTE: '100000' } },
  });
  api = jsonClient(stack.url('gateway'));
  admin = await bootstrapAdminAuth(stack);
  reception = await account(['receptionist']);
}, 240_000);

afterAll(() => stack?.stop());

describe('create', () => {
  it('201 with Location of the version, ETag W/"1"; read back through FHIR and the JSON API alike', async () => {
    const body = newPatient('Ada', `${RUN}-A`);
    const answer = await fhir('POST', '/api/fhir/Patient', reception, body);
    expect(answer.status).toBe(201);
    const created = answer.body as FhirPatient;
    expect(created.meta.versionId).toBe('1');
    expect(answer.headers.get('etag')).toBe('W/"1"');
    expect(new URL(answer.headers.get('location')!).pathname).toBe(`/api/fhir/Patient/${created.id}/_history/1`);

    const read = await fhir('GET', `/api/fhir/Patient/${created.id}`, reception);
    expect([read.status, read.headers.get('etag')]).toEqual([200, 'W/"1"']);
    expect(read.body).toMatchObject({
      name: [{ family: RUN, given: ['Ada'], text: `Ada ${RUN}` }],
      birthDate: '1980-05-17',
      address: [{ text: 'Hauptstraße 1, Berlin' }],
      identifier: [
        { value: created.id },
        { system: 'urn:caregrid:insurance-policy', value: `${RUN}-A`, assigner: { display: 'Acme Health' } },
      ],
    });
    const json = expectStatus(await api('GET', `/api/patients/${created.id}`, undefined, reception), 200).body;
    expect(json).toMatchObject({
      family: RUN,
      given: ['Ada'],
      email: body.telecom[0]!.value,
      phone: '+49 30 111',
      details: { insurance: { provider: 'Acme Health', policyNumber: `${RUN}-A` } },
    });
    // The version is FHIR's: the JSON API answers as before, so a record read and written back stays valid.
    expect(json).not.toHaveProperty('version');
  });

  it('If-None-Exist by identifier: the second create answers the first (200), one resource; several matches: 412', async () => {
    const condition = { 'if-none-exist': `identifier=urn:caregrid:insurance-policy|${RUN}-C` };
    const first = await fhir('POST', '/api/fhir/Patient', reception, newPatient('Cy', `${RUN}-C`), condition);
    expect(first.status).toBe(201);
    const second = await fhir('POST', '/api/fhir/Patient', reception, newPatient('Cy', `${RUN}-C`), condition);
    expect([second.status, second.body.id]).toEqual([200, first.body.id]);
    const found = await fhir('GET', `/api/fhir/Patient?identifier=urn:caregrid:insurance-policy|${RUN}-C`, reception);
    expect(found.body.total).toBe(1);

    await create('Dee', `${RUN}-D`);
    await create('Dan', `${RUN}-D`);
    const several = await expectOutcome(412, 'POST', '/api/fhir/Patient', reception, newPatient('Dot', `${RUN}-D`), {
      'if-none-exist': `identifier=urn:caregrid:insurance-policy|${RUN}-D`,
    });
    expect(several.issue[0]!.code).toBe('conflict');
    expect((await fhir('GET', `/api/fhir/Patient?identifier=urn:caregrid:insurance-policy|${RUN}-D`, reception)).body.total).toBe(2);
    await expectOutcome(400, 'POST', '/api/fhir/Patient', reception, newPatient('Eve', `${RUN}-E`), { 'if-none-exist': 'name=Eve' });
  });

  it('the JSON API’s contract and rules, told at the Patient’s elements; staff only', async () => {
    const future = await expectOutcome(400, 'POST', '/api/fhir/Patient', reception, {
      ...newPatient('Fay', `${RUN}-F`),
      birthDate: '2999-01-01',
    });
    expect(future.issue.map((issue) => issue.expression)).toEqual([['Patient.birthDate']]);
    const unknown = await expectOutcome(400, 'POST', '/api/fhir/Patient', reception, {
      ...newPatient('Fay', `${RUN}-F`),
      maritalStatus: { text: 'S' },
    });
    expect(unknown.issue[0]!.expression).toEqual(['Patient.maritalStatus']);
    const badEmail = { ...newPatient('Fay', `${RUN}-F`), telecom: [{ system: 'email', value: 'not-an-address' }] };
    expect((await expectOutcome(400, 'POST', '/api/fhir/Patient', reception, badEmail)).issue[0]!.expression).toEqual(['Patient.telecom']);
    const body = newPatient('Gil', `${RUN}-G`);
    await create('Gil', `${RUN}-G1`).then(async (first) => {
      // The same email again: 409, as POST /patients answers.
      const email = first.telecom.find((t) => t.system === 'email')!.value;
      await expectOutcome(409, 'POST', '/api/fhir/Patient', reception, { ...body, telecom: [{ system: 'email', value: email }] });
    });
    const asPatient = await account(['patient'], { patientId: (await create('Hap', `${RUN}-P`)).id });
    expect((await expectOutcome(403, 'POST', '/api/fhir/Patient', asPatient, body)).issue[0]!.code).toBe('forbidden');
  });

  it('takes an Idempotency-Key as POST /patients does: the retry gets the first answer, one record', async () => {
    const key = { 'idempotency-key': unique('fhir-create') };
    const body = newPatient('Ida', `${RUN}-I`);
    const first = await fhir('POST', '/api/fhir/Patient', reception, body, key);
    const retry = await fhir('POST', '/api/fhir/Patient', reception, body, key);
    expect([first.status, retry.status, retry.body.id, retry.headers.get('etag')]).toEqual([201, 201, first.body.id, 'W/"1"']);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect((await fhir('GET', `/api/fhir/Patient?identifier=urn:caregrid:insurance-policy|${RUN}-I`, reception)).body.total).toBe(1);
  });
});

describe('update', () => {
  it('PUT with the current If-Match: 200, version 2; with the stale one: 412, nothing changed; without: unconditional', async () => {
    const patient = await create('Hal', `${RUN}-H`);
    const changed = { ...patient, birthDate: '1981-01-02', telecom: [...patient.telecom.filter((t) => t.system === 'email')] };
    const updated = await fhir('PUT', `/api/fhir/Patient/${patient.id}`, reception, changed, { 'if-match': 'W/"1"' });
    expect([updated.status, updated.headers.get('etag'), (updated.body as FhirPatient).meta.versionId]).toEqual([200, 'W/"2"', '2']);
    expect(updated.body).toMatchObject({ birthDate: '1981-01-02' });
    expect(updated.body).not.toHaveProperty('telecom.1');

    const stale = await expectOutcome(
      412,
      'PUT',
      `/api/fhir/Patient/${patient.id}`,
      reception,
      { ...changed, birthDate: '1970-01-01' },
      { 'if-match': 'W/"1"' },
    );
    expect(stale.issue[0]!.code).toBe('conflict');
    expect((await fhir('GET', `/api/fhir/Patient/${patient.id}`, reception)).body).toMatchObject({
      birthDate: '1981-01-02',
      meta: { versionId: '2' },
    });

    const blind = await fhir('PUT', `/api/fhir/Patient/${patient.id}`, reception, { ...changed, gender: 'other' });
    expect([blind.status, blind.headers.get('etag')]).toEqual([200, 'W/"3"']);
    // The id is the URL's; the ETag one this API gave.
    await expectOutcome(400, 'PUT', `/api/fhir/Patient/${patient.id}`, reception, { ...changed, id: (await create('Ivy', `${RUN}-V`)).id });
    await expectOutcome(400, 'PUT', `/api/fhir/Patient/${patient.id}`, reception, changed, { 'if-match': 'three' });
    const { id: _id, ...withoutId } = changed;
    await expectOutcome(400, 'PUT', `/api/fhir/Patient/${patient.id}`, reception, withoutId);
    await expectOutcome(404, 'PUT', `/api/fhir/Patient/0190f0a0-0000-7000-8000-0000000000ff`, reception, {
      ...changed,
      id: '0190f0a0-0000-7000-8000-0000000000ff',
    });
  });

  it('keeps what a Patient does not carry (allergies, the account link)', async () => {
    const patient = await create('Jo', `${RUN}-J`);
    expectStatus(await api('PATCH', `/api/patients/${patient.id}`, { details: { allergies: ['penicillin'] } }, reception), 200);
    const read = await fhir('GET', `/api/fhir/Patient/${patient.id}`, reception);
    expectStatus(
      await fhir(
        'PUT',
        `/api/fhir/Patient/${patient.id}`,
        reception,
        { ...read.body, gender: 'male' },
        { 'if-match': read.headers.get('etag')! },
      ),
      200,
    );
    const json = expectStatus(await api('GET', `/api/patients/${patient.id}`, undefined, reception), 200).body;
    expect(json).toMatchObject({ gender: 'male', details: { allergies: ['penicillin'] } });
    expect((await fhir('GET', `/api/fhir/Patient/${patient.id}`, reception)).headers.get('etag')).toBe('W/"3"');
  });
});

describe('JSON Patch', () => {
  it('staff change any element; a failed test is a 409; the result is validated as the JSON API validates', async () => {
    const patient = await create('Kim', `${RUN}-K`);
    const patched = await fhir(
      'PATCH',
      `/api/fhir/Patient/${patient.id}`,
      reception,
      [
        { op: 'test', path: '/birthDate', value: '1980-05-17' },
        { op: 'replace', path: '/birthDate', value: '1979-12-31' },
        { op: 'replace', path: '/name/0/given/0', value: 'Kimberly' },
      ],
      { 'if-match': 'W/"1"' },
    );
    expect([patched.status, patched.headers.get('etag')]).toEqual([200, 'W/"2"']);
    expect(patched.body).toMatchObject({ birthDate: '1979-12-31', name: [{ given: ['Kimberly'], text: `Kimberly ${RUN}` }] });

    await expectOutcome(412, 'PATCH', `/api/fhir/Patient/${patient.id}`, reception, [{ op: 'replace', path: '/gender', value: 'male' }], {
      'if-match': 'W/"1"',
    });
    await expectOutcome(409, 'PATCH', `/api/fhir/Patient/${patient.id}`, reception, [{ op: 'test', path: '/gender', value: 'male' }]);
    const invalid = await expectOutcome(400, 'PATCH', `/api/fhir/Patient/${patient.id}`, reception, [
      { op: 'replace', path: '/birthDate', value: '2999-01-01' },
    ]);
    expect(invalid.issue[0]!.expression).toEqual(['Patient.birthDate']);
    await expectOutcome(400, 'PATCH', `/api/fhir/Patient/${patient.id}`, reception, { op: 'replace' });
    await expectOutcome(415, 'PATCH', `/api/fhir/Patient/${patient.id}`, reception, undefined, { 'content-type': 'application/json' });
    expect((await fhir('GET', `/api/fhir/Patient/${patient.id}`, reception)).body).toMatchObject({
      birthDate: '1979-12-31',
      gender: 'female',
    });
  });

  it('a patient patches their own contact details only: 403 for another element, 404 for another’s record', async () => {
    const own = await create('Lea', `${RUN}-L`);
    const other = await create('Max', `${RUN}-M`);
    const asLea = await account(['patient'], { patientId: own.id });
    const phone = own.telecom.findIndex((t) => t.system === 'phone');

    const changed = await fhir('PATCH', `/api/fhir/Patient/${own.id}`, asLea, [
      { op: 'replace', path: `/telecom/${phone}/value`, value: '+49 30 999' },
      {
        op: 'add',
        path: '/contact',
        value: [{ relationship: [{ text: 'sister' }], name: { text: 'Mia' }, telecom: [{ system: 'phone', value: '+49 30 5' }] }],
      },
    ]);
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({
      telecom: [{ system: 'email' }, { system: 'phone', value: '+49 30 999' }],
      contact: [{ name: { text: 'Mia' } }],
    });

    const refused = await expectOutcome(403, 'PATCH', `/api/fhir/Patient/${own.id}`, asLea, [
      { op: 'replace', path: '/birthDate', value: '1990-01-01' },
    ]);
    expect(refused.issue[0]!.code).toBe('forbidden');
    await expectOutcome(403, 'PATCH', `/api/fhir/Patient/${own.id}`, asLea, [{ op: 'replace', path: '/identifier/1/value', value: 'X-1' }]);
    await expectOutcome(404, 'PATCH', `/api/fhir/Patient/${other.id}`, asLea, [
      { op: 'replace', path: `/telecom/${phone}/value`, value: '+49 30 0' },
    ]);
    // PUT and POST are staff's: offered, not to a patient.
    await expectOutcome(403, 'PUT', `/api/fhir/Patient/${own.id}`, asLea, own);
    const after = await fhir('GET', `/api/fhir/Patient/${own.id}`, asLea);
    expect(after.body).toMatchObject({ birthDate: '1980-05-17', meta: { versionId: '2' } });
    expect(await fhir('GET', `/api/fhir/Patient/${other.id}`, reception)).toMatchObject({ body: { meta: { versionId: '1' } } });
  });
});

describe('interactions not offered', () => {
  it('DELETE of a Patient and writes of other types are 405 OperationOutcomes naming what is offered', async () => {
    const patient = await create('Ned', `${RUN}-N`);
    const deleted = await fhir('DELETE', `/api/fhir/Patient/${patient.id}`, admin);
    expect([deleted.status, deleted.headers.get('allow'), (deleted.body as Outcome).issue[0]!.code]).toEqual([
      405,
      'GET, PATCH, PUT',
      'not-supported',
    ]);
    const practitioner = await fhir('POST', '/api/fhir/Practitioner', admin, { resourceType: 'Practitioner' });
    expect([practitioner.status, practitioner.headers.get('allow')]).toEqual([405, 'GET']);
    expect((await fhir('GET', `/api/fhir/Patient/${patient.id}`, reception)).status).toBe(200);
  });

  it('the CapabilityStatement states the Patient writes, versions and conditional create', async () => {
    const statement = (await fhir('GET', '/api/fhir/metadata', {})).body as {
      rest: { resource: { type: string; interaction: { code: string }[]; versioning: string; conditionalCreate: boolean }[] }[];
    };
    const patient = statement.rest[0]!.resource.find((r) => r.type === 'Patient')!;
    expect([patient.interaction.map((i) => i.code), patient.versioning, patient.conditionalCreate]).toEqual([
      ['read', 'update', 'patch', 'create', 'search-type'],
      'versioned',
      true,
    ]);
  });
});

describe('audit', () => {
  it('a FHIR create and patch are audited as the JSON API’s: one entry each, the patient named', async () => {
    type Entry = { requestId: string; service: string; action: string; resourceId: string | null; patientIds: string[]; status: number };
    const send = async (method: string, url: string, body: unknown) => {
      const answer = await fhir(method, url, reception, body);
      return { id: (answer.body as { id: string }).id, requestId: answer.headers.get('x-request-id')! };
    };
    const created = await send('POST', '/api/fhir/Patient', newPatient('Oda', `${RUN}-O`));
    const patched = await send('PATCH', `/api/fhir/Patient/${created.id}`, [{ op: 'replace', path: '/gender', value: 'other' }]);
    const entriesOf = async (requestId: string) => {
      const page = expectStatus(await api('GET', `/api/audit?patientId=${created.id}&from=${started}&limit=100`, undefined, admin), 200)
        .body as {
        items: Entry[];
      };
      const found = page.items.filter((entry) => entry.requestId === requestId);
      return found.length > 0 ? found : undefined;
    };
    const [create] = await eventually(() => entriesOf(created.requestId), 30_000);
    const [change] = await eventually(() => entriesOf(patched.requestId), 30_000);
    const entry = (action: string, status: number) => ({
      service: 'patient-service',
      action,
      resourceId: created.id,
      patientIds: [created.id],
      status,
    });
    expect([create, change]).toMatchObject([entry('create', 201), entry('change', 200)]);
  });
});
