/**
 * patient-service against a real PostgreSQL database of its own and a real
 * daprd publishing to the real Kafka broker.
 */
import { patientCreated, patientDeleted, patientUpdated, Topics } from '@caregrid/contracts';
import { randomUUID } from 'node:crypto';
import { eventually, freshDatabase, readTopic, serviceUnderTest, viaGatewayAs, type ServiceUnderTest } from '@caregrid/devkit';
import { loadMigrations } from '@caregrid/platform';
import { createPgPool, migratePostgres, postgresDatabase, type Pool, type PoolClient } from '@caregrid/platform/postgres';
import { createApp } from '../../src/app.js';
import { listQuery, PatientRepository } from '../../src/data/patient-repository.js';

const migrations = loadMigrations(new URL('../../src/data/migrations/', import.meta.url));

let service: ServiceUnderTest<Pool>;
let pool: Pool;
let send: ServiceUnderTest<Pool>['send'];

type PatientBody = {
  id: string;
  name: string;
  email: string;
  phone: string | null;
  address: string | null;
  details: Record<string, unknown>;
};
type Problem = { status: number; title: string; errors?: { path: string }[]; field?: string };

let counter = 0;
const newPatient = (overrides: Record<string, unknown> = {}) => ({
  name: `Patient ${++counter}`,
  email: `patient${counter}.${Date.now()}@example.org`,
  dateOfBirth: '1980-05-17',
  gender: 'unknown',
  ...overrides,
});

const create = async (overrides: Record<string, unknown> = {}) => {
  const response = await send('POST', '/patients', newPatient(overrides));
  expect(response.status).toBe(201);
  return response.body as PatientBody;
};

const countRows = async () => Number((await pool.query('SELECT count(*) FROM patients')).rows[0].count);

beforeAll(async () => {
  service = await serviceUnderTest({
    label: 'patient-service',
    engine: 'postgres',
    open: postgresDatabase(migrations, { deadLetters: true }),
    createApp,
  });
  ({ db: pool, send } = service);
});

afterAll(() => service?.stop());

describe('create and read', () => {
  it('creates a patient: 201, Location, and the stored record', async () => {
    const details = { allergies: ['peanuts'], emergencyContact: { name: 'Vincent', phone: '555', relation: 'spouse' } };
    const created = await send('POST', '/patients', newPatient({ email: 'Grace.Hopper@Example.org', details }));
    expect(created.status).toBe(201);
    const patient = created.body as PatientBody;
    expect(created.headers.get('location')).toBe(`/patients/${patient.id}`);
    expect(patient).toMatchObject({ email: 'grace.hopper@example.org', phone: null, details });
    const read = await send('GET', `/patients/${patient.id}`);
    expect(read).toMatchObject({ status: 200, body: patient });
  });

  it('answers 409 for an email a live patient already has, whatever its case', async () => {
    const first = await create();
    const before = await countRows();
    const duplicate = await send('POST', '/patients', newPatient({ email: first.email.toUpperCase() }));
    expect(duplicate.status).toBe(409);
    expect(duplicate.body).toMatchObject({ status: 409, field: 'email' });
    expect(await countRows()).toBe(before);
  });

  it('answers 400 with every invalid field and writes nothing', async () => {
    const before = await countRows();
    const response = await send('POST', '/patients', { name: '', email: 'nope', dateOfBirth: '1990-13-01', gender: 'robot', extra: 1 });
    expect(response.status).toBe(400);
    expect((response.body as Problem).errors!.map((e) => e.path).sort()).toEqual([
      'body',
      'body.dateOfBirth',
      'body.email',
      'body.gender',
      'body.name',
    ]);
    const future = await send('POST', '/patients', newPatient({ dateOfBirth: '2999-01-01' }));
    expect(future.status).toBe(400);
    expect((future.body as Problem).errors).toEqual([{ path: 'dateOfBirth', message: 'must not be in the future' }]);
    expect(await countRows()).toBe(before);
  });

  it('answers 404 for an unknown id and 400 for a malformed one', async () => {
    expect((await send('GET', '/patients/0190f0a0-0000-7000-8000-00000000ffff')).status).toBe(404);
    expect((await send('GET', '/patients/42')).status).toBe(400);
  });
});

describe('update', () => {
  it('PUT replaces the whole record: omitted optional fields are cleared', async () => {
    const patient = await create({ phone: '555-0100', address: 'Main St 1' });
    const response = await send('PUT', `/patients/${patient.id}`, newPatient({ name: 'Replaced', email: patient.email }));
    expect(response).toMatchObject({ status: 200, body: { name: 'Replaced', phone: null, address: null } });
  });

  it('PATCH merges: null removes, nested objects merge, the rest stays', async () => {
    const patient = await create({
      phone: '555-0100',
      address: 'Main St 1',
      details: { allergies: ['dust'], insurance: { provider: 'X', policyNumber: '1' } },
    });
    const response = await send('PATCH', `/patients/${patient.id}`, { address: null, details: { allergies: ['pollen'] } });
    expect(response).toMatchObject({
      status: 200,
      body: {
        name: patient.name,
        phone: '555-0100',
        address: null,
        details: { allergies: ['pollen'], insurance: { provider: 'X', policyNumber: '1' } },
      },
    });
  });

  it('PATCH that would leave an invalid record answers 400 and changes nothing', async () => {
    const patient = await create();
    const response = await send('PATCH', `/patients/${patient.id}`, { name: null, gender: 'robot' });
    expect(response.status).toBe(400);
    expect((response.body as Problem).errors!.map((e) => e.path).sort()).toEqual(['gender', 'name']);
    expect((await send('GET', `/patients/${patient.id}`)).body).toEqual(patient);
  });

  it('PUT/PATCH of an unknown patient answers 404; taking another live email answers 409', async () => {
    expect((await send('PATCH', '/patients/0190f0a0-0000-7000-8000-00000000ffff', { name: 'x' })).status).toBe(404);
    const [a, b] = [await create(), await create()];
    expect((await send('PATCH', `/patients/${b.id}`, { email: a.email })).status).toBe(409);
  });
});

describe('soft delete', () => {
  it('hides the patient but keeps the row; the email becomes free again', async () => {
    const patient = await create();
    expect((await send('DELETE', `/patients/${patient.id}`)).status).toBe(204);
    expect((await send('GET', `/patients/${patient.id}`)).status).toBe(404);
    expect((await send('DELETE', `/patients/${patient.id}`)).status).toBe(404);
    const row = await pool.query('SELECT deleted_at FROM patients WHERE id = $1', [patient.id]);
    expect(row.rows[0].deleted_at).toBeInstanceOf(Date);
    const list = (await send('GET', `/patients?q=${encodeURIComponent(patient.email)}`)).body as { items: unknown[] };
    expect(list.items).toEqual([]);
    expect((await send('POST', '/patients', newPatient({ email: patient.email }))).status).toBe(201);
  });
});

describe('search and pagination', () => {
  it('finds by name or email prefix, case-insensitively, treating % and _ literally', async () => {
    const tag = `Zq${Date.now()}`;
    const byName = await create({ name: `${tag} Alpha` });
    const byEmail = await create({ email: `${tag.toLowerCase()}.mail@example.org` });
    await create({ name: `${tag}_x` });
    const found = (await send('GET', `/patients?q=${tag.toUpperCase()}`)).body as { items: PatientBody[] };
    expect(found.items.map((p) => p.id)).toEqual(expect.arrayContaining([byName.id, byEmail.id]));
    const literal = (await send('GET', `/patients?q=${encodeURIComponent(`${tag}_`)}`)).body as { items: PatientBody[] };
    expect(literal.items.map((p) => p.name)).toEqual([`${tag}_x`]);
    const wildcard = (await send('GET', `/patients?q=${encodeURIComponent('%')}`)).body as { items: PatientBody[] };
    expect(wildcard.items).toEqual([]);
  });

  it('pages in name order, stable while other patients are inserted concurrently', async () => {
    const tag = `Page${Date.now()}`;
    const originals = await Promise.all(['B', 'D', 'F', 'H', 'J', 'L', 'N'].map((letter) => create({ name: `${tag} ${letter}` })));
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `/patients?q=${tag}&limit=3${cursor ? `&cursor=${cursor}` : ''}`;
      const page = (await send('GET', query)).body as { items: PatientBody[]; nextCursor: string | null };
      seen.push(...page.items.map((p) => p.name));
      cursor = page.nextCursor;
      if (pages++ === 0) {
        // Inserted between pages, before and after the cursor: earlier ones must not shift later pages.
        await Promise.all(['A', 'C', 'M', 'O'].map((letter) => create({ name: `${tag} ${letter}` })));
      }
    } while (cursor);
    const originalNames = originals.map((p) => p.name);
    expect(seen.filter((name) => originalNames.includes(name))).toEqual(originalNames);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual([...seen].sort());
  });

  it('rejects a limit over 100, an unknown parameter and a forged cursor with 400', async () => {
    expect((await send('GET', '/patients?limit=101')).status).toBe(400);
    expect((await send('GET', '/patients?sort=name')).status).toBe(400);
    const forged = await send('GET', '/patients?cursor=bm90LWEtY3Vyc29y');
    expect(forged).toMatchObject({ status: 400, body: { errors: [{ path: 'query.cursor' }] } });
  });
});

describe('names in parts and FHIR name search', () => {
  type Bundle = { total: number; entry?: { resource: { id: string; name: { text: string; family?: string; given?: string[] }[] } }[] };
  const tag = `Nm${Date.now().toString(36)}`;
  const fhirSearch = async (query: string) => {
    const answer = await send('GET', `/fhir/Patient?${query}`);
    expect([query, answer.status]).toEqual([query, 200]);
    return answer.body as Bundle;
  };
  /** The ids a FHIR search finds among this block's patients (the name criteria are ANDed with the tag). */
  const found = async (query: string) => ((await fhirSearch(`given=${tag}&${query}`)).entry ?? []).map((entry) => entry.resource.id).sort();
  let mueller: PatientBody;
  let berg: PatientBody;

  beforeAll(async () => {
    // The JSON API as existing clients use it: one name, split by its last word.
    mueller = await create({ name: `${tag} Anna  Müller` });
    // Not through create(): the search of a family name needs only the first (and runs on code without parts).
    berg = (await send('POST', '/patients', newPatient({ name: undefined, family: 'van der Berg', given: [tag, 'Marie'] })))
      .body as PatientBody;
  });

  it('a name sent alone is split (the last word is the family name); the record answers name, family and given', async () => {
    expect(mueller).toMatchObject({ name: `${tag} Anna Müller`, family: 'Müller', given: [tag, 'Anna'] });
    expect(berg).toMatchObject({ name: `${tag} Marie van der Berg`, family: 'van der Berg', given: [tag, 'Marie'] });
    expect((await send('GET', `/patients/${berg.id}`)).body).toMatchObject({ name: `${tag} Marie van der Berg` });
    const renamed = await send('PATCH', `/patients/${berg.id}`, { given: [tag, 'Marie', 'Luise'] });
    expect(renamed).toMatchObject({ status: 200, body: { name: `${tag} Marie Luise van der Berg`, family: 'van der Berg' } });
    const mismatch = await send('PUT', `/patients/${berg.id}`, newPatient({ name: 'Someone Else', family: 'Berg' }));
    expect(mismatch).toMatchObject({ status: 400, body: { errors: [{ path: 'body.name' }] } });
  });

  it('FHIR HumanName has family, given and text', async () => {
    const read = (await send('GET', `/fhir/Patient/${mueller.id}`)).body as Bundle['entry'] & { name: unknown };
    expect(read.name).toEqual([{ use: 'official', text: `${tag} Anna Müller`, family: 'Müller', given: [tag, 'Anna'] }]);
  });

  it('Patient?name= finds the family name, the start of any part, ignoring case and accents', async () => {
    const byFamily = await fhirSearch('name=M%C3%BCller');
    expect(byFamily.entry?.map((entry) => entry.resource.id)).toEqual([mueller.id]);
    expect(await found('name=muller')).toEqual([mueller.id]);
    expect(await found('name=M%C3%9CL')).toEqual([mueller.id]);
    expect(await found('name=ann')).toEqual([mueller.id]);
    expect(await found('name=berg')).toEqual([berg.id]);
    expect(await found('name=mar')).toEqual([berg.id]);
    expect(await found('name=uller')).toEqual([]);
  });

  it(':exact matches a whole part as written; :contains anywhere; family and given their own parts', async () => {
    expect(await found('name:exact=M%C3%BCller')).toEqual([mueller.id]);
    expect(await found('name:exact=muller')).toEqual([]);
    expect(await found('name:exact=M%C3%BCll')).toEqual([]);
    expect(await found('family:exact=van%20der%20Berg')).toEqual([berg.id]);
    expect(await found('name:contains=ulle')).toEqual([mueller.id]);
    expect(await found('name:contains=DER%20B')).toEqual([berg.id]);
    expect(await found('family=van')).toEqual([berg.id]);
    expect(await found('family=anna')).toEqual([]);
    expect(await found('given=anna')).toEqual([mueller.id]);
    expect(await found('given=muller')).toEqual([]);
    expect((await send('GET', `/fhir/Patient?name:missing=true`)).status).toBe(400);
  });

  it('the JSON search text finds the start of any part too', async () => {
    const items = async (q: string) => ((await send('GET', `/patients?q=${encodeURIComponent(q)}`)).body as { items: PatientBody[] }).items;
    expect((await items(`${tag} anna mu`)).map((p) => p.id)).toEqual([mueller.id]);
    expect((await items('müll')).map((p) => p.id)).toContain(mueller.id);
  });
});

describe('migration 004 (names in parts) and the name index', () => {
  it('splits the names of patients made before it: the last word is the family name', async () => {
    const scratch = await freshDatabase('postgres', 'patient-names');
    const old = createPgPool(scratch.url);
    try {
      await migratePostgres(
        old,
        migrations.filter((m) => m.version < '004'),
      );
      const names = { spaced: ' Ann  Marie van der Berg ', single: 'Cher', accented: 'José Müller' };
      const ids = Object.fromEntries(Object.keys(names).map((key) => [key, randomUUID()]));
      for (const [key, name] of Object.entries(names)) {
        await old.query(`INSERT INTO patients (id, name, email, date_of_birth, gender) VALUES ($1, $2, $3, '1950-01-01', 'unknown')`, [
          ids[key],
          name,
          `${key}@example.org`,
        ]);
      }
      expect(await migratePostgres(old, migrations)).toContain('004_name_parts');
      const repository = new PatientRepository(old);
      const read = async (key: string) => (await repository.getWithCareTeam(ids[key]!)).patient;
      expect(await read('spaced')).toMatchObject({ name: names.spaced, family: 'Berg', given: ['Ann', 'Marie', 'van', 'der'] });
      expect(await read('single')).toMatchObject({ name: 'Cher', family: 'Cher', given: [] });
      expect(await read('accented')).toMatchObject({ family: 'Müller', given: ['José'] });
      const all = { all: true, anyOf: [] };
      const search = async (names: { part: 'name' | 'family' | 'given'; match: 'start' | 'exact' | 'contains'; value: string }[]) =>
        (await repository.list({ names, limit: 10 }, all)).items.map((p) => p.id);
      expect(await search([{ part: 'family', match: 'start', value: 'mull' }])).toEqual([ids.accented]);
      expect(await search([{ part: 'given', match: 'start', value: 'jose' }])).toEqual([ids.accented]);
    } finally {
      await old.end();
      await scratch.drop();
    }
  });

  it('a name search on 20,000 patients uses the trigram index (EXPLAIN), for the JSON search text and FHIR criteria', async () => {
    const scratch = await freshDatabase('postgres', 'patient-name-index');
    const big = createPgPool(scratch.url);
    try {
      await migratePostgres(big, migrations);
      await big.query(
        `INSERT INTO patients (id, name, family, given, email, date_of_birth, gender)
         SELECT gen_random_uuid(), 'Given' || n || ' Family' || n, 'Family' || n, ARRAY['Given' || n],
                'p' || n || '@example.org', '1970-01-01', 'unknown'
           FROM generate_series(1, 20000) AS n`,
      );
      // VACUUM moves the fresh rows out of the GIN index's pending list (autovacuum does, in service).
      await big.query('VACUUM ANALYZE patients');
      const all = { all: true, anyOf: [] };
      const plan = async (query: { text: string; values: unknown[] }) => {
        const { rows } = await big.query({ text: `EXPLAIN (FORMAT JSON) ${query.text}`, values: query.values });
        return JSON.stringify(rows[0]['QUERY PLAN']);
      };
      for (const names of [
        [{ part: 'name' as const, match: 'start' as const, value: 'family1234' }],
        [{ part: 'family' as const, match: 'start' as const, value: 'Family1234' }],
        [{ part: 'name' as const, match: 'exact' as const, value: 'Family1234' }],
        [{ part: 'name' as const, match: 'contains' as const, value: 'mily1234' }],
      ]) {
        expect([names[0], await plan(listQuery({ names, limit: 20 }, all))]).toEqual([
          names[0],
          expect.stringContaining('patients_name_search'),
        ]);
      }
      expect(await plan(listQuery({ q: 'family1234', limit: 20 }, all))).toContain('patients_name_search');
      const found = await new PatientRepository(big).list(
        { names: [{ part: 'family', match: 'start', value: 'family1234' }], limit: 20 },
        all,
      );
      expect(found.items.map((p) => p.family).sort()).toEqual(['Family1234', ...Array.from({ length: 10 }, (_, i) => `Family1234${i}`)]);
    } finally {
      await big.end();
      await scratch.drop();
    }
  }, 120_000);
});

describe('events', () => {
  it('publishes created, updated and deleted to the patients topic on Kafka, in order', async () => {
    const patient = await create();
    await send('PATCH', `/patients/${patient.id}`, { name: 'Renamed' });
    await send('DELETE', `/patients/${patient.id}`);
    const events = await eventually(() => {
      const mine = readTopic(Topics.patients).filter((e) => (e as { subject?: string }).subject === patient.id);
      return mine.length === 3 ? mine : undefined;
    });
    expect(events.map((e) => (e as { type: string }).type)).toEqual([patientCreated.type, patientUpdated.type, patientDeleted.type]);
    expect(patientCreated.parse(events[0]).data).toMatchObject({ patientId: patient.id, email: patient.email });
    expect(patientUpdated.parse(events[1]).data.name).toBe('Renamed');
    expect(patientDeleted.parse(events[2]).data).toEqual({ patientId: patient.id });
    expect((events[0] as { source: string }).source).toBe(service.appId);
  });

  it('leaves nothing pending in the outbox once published', async () => {
    await eventually(async () => {
      const { rows } = await pool.query('SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL');
      return rows[0].n === 0 ? true : undefined;
    });
  });
});

describe('a write and its audit entry commit together', () => {
  // The relay updates a row it publishes (a new xmin): held off while xmins are compared, by the
  // lock every claim takes first, on a connection of the test's own.
  let relayHeld: PoolClient;
  beforeEach(async () => {
    relayHeld = await pool.connect();
    await relayHeld.query('BEGIN');
    await relayHeld.query("SELECT pg_advisory_xact_lock(hashtext('caregrid.outbox.claim'))");
  });
  afterEach(async () => {
    await relayHeld.query('ROLLBACK');
    relayHeld.release();
  });
  const entriesOf = async (requestId: string) =>
    (
      await pool.query<{ tx: string; entry: Record<string, unknown> }>(
        "SELECT xmin::text AS tx, data AS entry FROM outbox WHERE topic LIKE 'audit.%' AND data->>'requestId' = $1",
        [requestId],
      )
    ).rows;

  it('a create, a change and a delete: one entry each, in the transaction of the change (allowed, its status)', async () => {
    const created = await send('POST', '/patients', newPatient(), { 'x-request-id': 'write-create' });
    expect(created.status).toBe(201);
    const { id } = created.body as PatientBody;
    const tx = async () => (await pool.query<{ tx: string }>('SELECT xmin::text AS tx FROM patients WHERE id = $1', [id])).rows[0]!.tx;
    const createdIn = await tx();
    expect(await entriesOf('write-create')).toEqual([
      {
        tx: createdIn,
        entry: expect.objectContaining({ action: 'create', resourceId: id, patientIds: [id], outcome: 'allowed', status: 201 }),
      },
    ]);

    expect((await send('PATCH', `/patients/${id}`, { phone: '+1 555 0100' }, { 'x-request-id': 'write-change' })).status).toBe(200);
    expect(await entriesOf('write-change')).toEqual([
      { tx: await tx(), entry: expect.objectContaining({ action: 'change', resourceId: id, outcome: 'allowed', status: 200 }) },
    ]);

    expect((await send('DELETE', `/patients/${id}`, undefined, { 'x-request-id': 'write-delete' })).status).toBe(204);
    expect(await entriesOf('write-delete')).toEqual([
      { tx: await tx(), entry: expect.objectContaining({ action: 'delete', resourceId: id, outcome: 'allowed', status: 204 }) },
    ]);
  });

  it('a refused write changes nothing and still has its one entry', async () => {
    const patient = await create();
    const other = viaGatewayAs({ roles: ['patient'], patientId: randomUUID() });
    const refused = await send('PATCH', `/patients/${patient.id}`, { phone: '+1 555 0101' }, { ...other, 'x-request-id': 'write-refused' });
    expect(refused.status).toBe(404);
    expect((await send('GET', `/patients/${patient.id}`)).body).toMatchObject({ phone: patient.phone });
    expect(await entriesOf('write-refused')).toEqual([
      { tx: expect.any(String), entry: expect.objectContaining({ action: 'change', outcome: 'denied', status: 404 }) },
    ]);
  });

  it('a write whose entry cannot be written is not made: 503, nothing created, changed or deleted', async () => {
    const patient = await create();
    const body = newPatient();
    // The outbox of this test's own database refuses new audit rows, and only those.
    await pool.query("ALTER TABLE outbox ADD CONSTRAINT test_refuses_audit CHECK (topic NOT LIKE 'audit%') NOT VALID");
    try {
      expect(await send('POST', '/patients', body)).toMatchObject({ status: 503, body: { status: 503 } });
      expect((await send('PATCH', `/patients/${patient.id}`, { phone: '+1 555 0102' })).status).toBe(503);
      expect((await send('DELETE', `/patients/${patient.id}`)).status).toBe(503);
    } finally {
      await pool.query('ALTER TABLE outbox DROP CONSTRAINT test_refuses_audit');
    }
    const { rows } = await pool.query(
      `SELECT (SELECT count(*)::int FROM patients WHERE email = $1) AS created,
              (SELECT count(*)::int FROM outbox WHERE topic = 'patients' AND data->>'email' = $1) AS events,
              (SELECT phone FROM patients WHERE id = $2) AS phone,
              (SELECT deleted_at IS NULL FROM patients WHERE id = $2) AS live`,
      [body.email, patient.id],
    );
    expect(rows[0]).toEqual({ created: 0, events: 0, phone: patient.phone, live: true });
  });
});

describe('OpenAPI', () => {
  it('documents every route from the zod schemas', async () => {
    const document = (await send('GET', '/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(document.paths).sort()).toEqual([
      '/events/appointment-booked',
      '/events/appointment-cancelled',
      '/events/dead-letter',
      '/events/ignored',
      // FHIR R4 Patient over the same repository.
      '/fhir/Patient',
      '/fhir/Patient/{id}',
      // The platform's admin routes: the backlog, parked outbox events and dead letters.
      '/ops/backlog',
      '/ops/dead-letters',
      '/ops/dead-letters/redrive',
      '/ops/dead-letters/{id}/redrive',
      '/ops/outbox',
      '/ops/outbox/{id}/redrive',
      '/patients',
      '/patients/{id}',
      '/patients/{id}/access-log',
    ]);
    expect(Object.keys(document.paths['/patients/{id}']!).sort()).toEqual(['delete', 'get', 'patch', 'put']);
    // Who may call each route, from the access model; the gateway leaves sidecar routes out of the public document.
    expect(document.paths['/patients/{id}']!.get).toMatchObject({ 'x-caregrid-access': { resource: 'patient', actions: ['read'] } });
    expect(document.paths['/events/appointment-booked']!.post).toMatchObject({ 'x-caregrid-access': 'sidecar' });
  });
});

describe('callers', () => {
  it('no verified caller is no access; identity headers count only from the gateway', async () => {
    const patient = await create();
    const identity = { 'x-caregrid-user-id': 'u1', 'x-caregrid-roles': 'admin' };
    expect((await send('GET', `/patients/${patient.id}`, undefined, { 'dapr-caller-app-id': '', ...identity })).status).toBe(401);
    expect((await send('GET', `/patients/${patient.id}`, undefined, { 'dapr-caller-app-id': 'billing-service', ...identity })).status).toBe(
      403,
    );
    expect((await send('GET', `/patients/${patient.id}`, undefined, { 'dapr-caller-app-id': 'appointment-service' })).status).toBe(200);
  });
});

describe('care teams from booking events', () => {
  const booked = (patientId: string, doctorId: string, id = randomUUID(), appointmentId = randomUUID()) => ({
    specversion: '1.0',
    id,
    source: 'appointment-service',
    type: 'caregrid.appointment.booked.v1',
    time: new Date().toISOString(),
    data: {
      appointmentId,
      patientId,
      patientName: 'P',
      doctorId,
      doctorName: 'D',
      specialization: 'cardiology',
      serviceType: 'consultation',
      start: '2030-01-01T10:00:00.000Z',
      end: '2030-01-01T10:30:00.000Z',
      status: 'booked',
      amount: 100,
      currency: 'EUR',
    },
  });
  /** The cancellation of the appointment `event` booked, as appointment-service publishes it. */
  const cancelled = (event: ReturnType<typeof booked>) => ({
    ...event,
    id: randomUUID(),
    type: 'caregrid.appointment.cancelled.v1',
    data: { ...event.data, status: 'cancelled', reason: 'feeling better' },
  });
  const asDoctor = (doctorId: string) => viaGatewayAs({ roles: ['doctor'], doctorId });
  // As the sidecar delivers (no invocation header), on the route the subscription's rules pick.
  const deliver = (event: { type?: string; [attribute: string]: unknown }) =>
    send(
      'POST',
      event.type === 'caregrid.appointment.cancelled.v1' ? '/events/appointment-cancelled' : '/events/appointment-booked',
      event,
      {
        'dapr-caller-app-id': '',
      },
    );
  const doctorReads = async (patientId: string, doctorId: string) =>
    (await send('GET', `/patients/${patientId}`, undefined, asDoctor(doctorId))).status;
  const doctorLists = async (doctorId: string) =>
    ((await send('GET', '/patients?limit=100', undefined, asDoctor(doctorId))).body as { items: { id: string }[] }).items.map((p) => p.id);

  it('a delivered booking lets the doctor read and list that patient; a redelivery changes nothing', async () => {
    const [patient, other] = [await create(), await create()];
    const doctorId = randomUUID();
    expect((await send('GET', `/patients/${patient.id}`, undefined, asDoctor(doctorId))).status).toBe(404);
    const event = booked(patient.id, doctorId);
    expect((await deliver(event)).body).toEqual({ status: 'SUCCESS' });
    expect((await deliver(event)).body).toEqual({ status: 'SUCCESS' });
    expect((await send('GET', `/patients/${patient.id}`, undefined, asDoctor(doctorId))).status).toBe(200);
    expect((await send('GET', `/patients/${other.id}`, undefined, asDoctor(doctorId))).status).toBe(404);
    const listed = (await send('GET', '/patients?limit=100', undefined, asDoctor(doctorId))).body as { items: { id: string }[] };
    expect(listed.items.map((p) => p.id)).toEqual([patient.id]);
    const rows = await pool.query('SELECT count(*)::int AS n FROM care_appointments WHERE doctor_id = $1', [doctorId]);
    expect(rows.rows[0].n).toBe(1);
  });

  it('the cancellation of the only booking ends the relation; the booking redelivered after it does not revive it', async () => {
    const patient = await create();
    const doctorId = randomUUID();
    const booking = booked(patient.id, doctorId);
    expect((await deliver(booking)).body).toEqual({ status: 'SUCCESS' });
    expect(await doctorReads(patient.id, doctorId)).toBe(200);
    const cancellation = cancelled(booking);
    expect((await deliver(cancellation)).body).toEqual({ status: 'SUCCESS' });
    expect(await doctorReads(patient.id, doctorId)).toBe(404);
    expect(await doctorLists(doctorId)).toEqual([]);
    expect((await deliver(booking)).body).toEqual({ status: 'SUCCESS' });
    expect((await deliver(cancellation)).body).toEqual({ status: 'SUCCESS' });
    expect(await doctorReads(patient.id, doctorId)).toBe(404);
    // The FHIR read and search take the same care team.
    expect((await send('GET', `/fhir/Patient/${patient.id}`, undefined, asDoctor(doctorId))).status).toBe(404);
    const searched = await send('GET', `/fhir/Patient?identifier=${patient.id}`, undefined, asDoctor(doctorId));
    expect(searched.body).toMatchObject({ resourceType: 'Bundle', total: 0 });
  });

  it('a cancellation delivered before its booking leaves no relation', async () => {
    const patient = await create();
    const doctorId = randomUUID();
    const booking = booked(patient.id, doctorId);
    expect((await deliver(cancelled(booking))).body).toEqual({ status: 'SUCCESS' });
    expect((await deliver(booking)).body).toEqual({ status: 'SUCCESS' });
    expect(await doctorReads(patient.id, doctorId)).toBe(404);
    expect(await doctorLists(doctorId)).toEqual([]);
  });

  it('with two bookings, cancelling one keeps the relation; cancelling the other ends it', async () => {
    const patient = await create();
    const doctorId = randomUUID();
    const [first, second] = [booked(patient.id, doctorId), booked(patient.id, doctorId)];
    for (const event of [first, second, cancelled(first)]) expect((await deliver(event)).body).toEqual({ status: 'SUCCESS' });
    expect(await doctorReads(patient.id, doctorId)).toBe(200);
    expect(await doctorLists(doctorId)).toEqual([patient.id]);
    expect((await deliver(cancelled(second))).body).toEqual({ status: 'SUCCESS' });
    expect(await doctorReads(patient.id, doctorId)).toBe(404);
  });

  it('migration 003 keeps every relation made before it, and no cancellation ends those', async () => {
    const scratch = await freshDatabase('postgres', 'care-relations');
    const old = createPgPool(scratch.url);
    try {
      await migratePostgres(
        old,
        migrations.filter((m) => m.version < '003'),
      );
      const [patientId, doctorId, firstAppointmentId] = [randomUUID(), randomUUID(), randomUUID()];
      await old.query(
        `INSERT INTO patients (id, name, email, date_of_birth, gender) VALUES ($1, 'Old', 'old@example.org', '1950-01-01', 'unknown')`,
        [patientId],
      );
      await old.query('INSERT INTO care_relations (patient_id, doctor_id, first_appointment_id) VALUES ($1, $2, $3)', [
        patientId,
        doctorId,
        firstAppointmentId,
      ]);
      expect(await migratePostgres(old, migrations)).toContain('003_care_relations_end');
      const repository = new PatientRepository(old);
      expect((await repository.getWithCareTeam(patientId)).careTeam).toEqual([doctorId]);
      // Which bookings the relation rested on was never recorded: cancelling the first leaves it.
      const at = new Date().toISOString();
      await repository.recordCareAppointment({ appointmentId: firstAppointmentId, patientId, doctorId, state: 'cancelled', at });
      expect((await repository.getWithCareTeam(patientId)).careTeam).toEqual([doctorId]);
      const scope = { all: false, anyOf: [{ careTeamOf: doctorId }] };
      expect((await repository.list({ limit: 10 }, scope)).items.map((p) => p.id)).toEqual([patientId]);
    } finally {
      await old.end();
      await scratch.drop();
    }
  });

  it('a malformed event is dropped; an invocation of the event route is refused', async () => {
    expect((await deliver({ specversion: '1.0', id: 'x', source: 's', type: 'caregrid.appointment.booked.v1', data: {} })).body).toEqual({
      status: 'DROP',
    });
    const patient = await create();
    const forged = booked(patient.id, randomUUID());
    expect((await send('POST', '/events/appointment-booked', forged, { 'dapr-caller-app-id': 'doctor-service' })).status).toBe(403);
  });

  describe('dead letters', () => {
    type Listed = { items: { id: string; topic: string; type: string; count: number; reason: string | null }[]; nextCursor: string | null };
    // As daprd delivers a dead-letter topic: in bulk, one status per entry.
    const park = (event: unknown) =>
      send('POST', '/events/dead-letter', { entries: [{ entryId: 'e-1', event }] }, { 'dapr-caller-app-id': '' });
    const parkedOk = { statuses: [{ entryId: 'e-1', status: 'SUCCESS' }] };
    const parked = async () => {
      const items: Listed['items'] = [];
      for (let cursor: string | null = null; ;) {
        const page = (await send('GET', `/ops/dead-letters?limit=2${cursor ? `&cursor=${cursor}` : ''}`)).body as Listed;
        items.push(...page.items);
        if (!(cursor = page.nextCursor)) return items;
      }
    };

    it('parks each event once and counts arrivals; a re-drive applies it through the care-team handler and unparks it', async () => {
      const patient = await create();
      const doctorId = randomUUID();
      const event = { ...booked(patient.id, doctorId), topic: 'appointments' };
      expect((await park(event)).body).toEqual(parkedOk);
      expect((await park(event)).body).toEqual(parkedOk);
      const letter = (await parked()).find((l) => l.id === event.id);
      expect(letter).toMatchObject({ topic: 'appointments', type: 'caregrid.appointment.booked.v1', count: 2, reason: null });
      // The list leaves the payload out: patient data stays behind the re-drive.
      expect(letter).not.toHaveProperty('event');
      expect((await send('GET', `/patients/${patient.id}`, undefined, asDoctor(doctorId))).status).toBe(404);

      expect(await send('POST', `/ops/dead-letters/${event.id}/redrive`)).toMatchObject({
        status: 200,
        body: { id: event.id, outcome: 'redriven' },
      });
      expect((await send('GET', `/patients/${patient.id}`, undefined, asDoctor(doctorId))).status).toBe(200);
      expect((await parked()).some((l) => l.id === event.id)).toBe(false);
      expect(await send('POST', `/ops/dead-letters/${event.id}/redrive`)).toMatchObject({ status: 404 });
    });

    it('a booking and its cancellation parked together and re-driven leave no relation, in either order', async () => {
      const patient = await create();
      const doctorId = randomUUID();
      const booking = { ...booked(patient.id, doctorId), topic: 'appointments' };
      const cancellation = { ...cancelled(booking), topic: 'appointments' };
      // One bulk delivery of the dead-letter topic, the cancellation first; one status per entry.
      const delivered = await send(
        'POST',
        '/events/dead-letter',
        {
          entries: [
            { entryId: 'c', event: cancellation },
            { entryId: 'b', event: booking },
          ],
        },
        { 'dapr-caller-app-id': '' },
      );
      expect(delivered.body).toEqual({
        statuses: [
          { entryId: 'c', status: 'SUCCESS' },
          { entryId: 'b', status: 'SUCCESS' },
        ],
      });
      expect(await send('POST', `/ops/dead-letters/${cancellation.id}/redrive`)).toMatchObject({
        status: 200,
        body: { outcome: 'redriven' },
      });
      expect(await send('POST', `/ops/dead-letters/${booking.id}/redrive`)).toMatchObject({ status: 200, body: { outcome: 'redriven' } });
      expect(await doctorReads(patient.id, doctorId)).toBe(404);
    });

    it('a malformed delivery is noted at once as poison with the field it fails on, and is one letter when daprd dead-letters it', async () => {
      const patientId = randomUUID();
      const malformed = {
        ...booked(patientId, randomUUID()),
        topic: 'appointments',
        data: { ...booked(patientId, randomUUID()).data, appointmentId: 'not-a-uuid', amount: 'lots' },
      };
      expect((await deliver(malformed)).body).toEqual({ status: 'DROP' });
      // Visible to an admin before daprd moves it to the dead-letter topic, never retried by the automatic re-drive.
      expect((await parked()).find((l) => l.id === malformed.id)).toMatchObject({
        topic: 'appointments',
        type: 'caregrid.appointment.booked.v1',
        poison: true,
        nextAttemptAt: null,
        count: 0,
        reason: expect.stringMatching(/data\.appointmentId.*data\.amount/),
      });
      // A redelivery, then its arrival from the dead-letter topic: still the one letter, poison, with its reason.
      expect((await deliver(malformed)).body).toEqual({ status: 'DROP' });
      expect((await park(malformed)).body).toEqual(parkedOk);
      const letters = (await parked()).filter((l) => l.id === malformed.id);
      expect(letters).toEqual([
        expect.objectContaining({ poison: true, count: 1, reason: expect.stringMatching(/data\.appointmentId.*data\.amount/) }),
      ]);
    });

    it('another type of the topic is acknowledged; a type or version no contract defines is noted as poison, not ignored', async () => {
      const other = { ...booked(randomUUID(), randomUUID()), type: 'caregrid.appointment.rescheduled.v1', topic: 'appointments' };
      const unknown = { ...booked(randomUUID(), randomUUID()), type: 'caregrid.appointment.booked.v2', topic: 'appointments' };
      const ignored = (event: unknown) => send('POST', '/events/ignored', event, { 'dapr-caller-app-id': '' });
      expect((await ignored(other)).body).toEqual({ status: 'SUCCESS' });
      expect((await ignored(unknown)).body).toEqual({ status: 'DROP' });
      const letters = await parked();
      expect(letters.some((l) => l.id === other.id)).toBe(false);
      expect(letters.find((l) => l.id === unknown.id)).toMatchObject({
        type: 'caregrid.appointment.booked.v2',
        poison: true,
        reason: 'no contract for event type caregrid.appointment.booked.v2',
      });
    });

    it('a malformed letter stays parked (409, with the reason); staff other than admins get 403; only the sidecar parks', async () => {
      const malformed = { specversion: '1.0', id: `bad-${randomUUID()}`, source: 's', type: 'caregrid.appointment.booked.v1', data: {} };
      await park(malformed);
      const refused = await send('POST', `/ops/dead-letters/${malformed.id}/redrive`);
      expect(refused).toMatchObject({ status: 409, body: { status: 409 } });
      expect(refused.headers.get('content-type')).toContain('application/problem+json');
      expect((await parked()).find((l) => l.id === malformed.id)).toMatchObject({ reason: expect.stringMatching(/refused/) });

      const receptionist = viaGatewayAs({ roles: ['receptionist'] });
      expect((await send('GET', '/ops/dead-letters', undefined, receptionist)).status).toBe(403);
      expect((await send('POST', `/ops/dead-letters/${malformed.id}/redrive`, undefined, receptionist)).status).toBe(403);
      expect((await send('POST', '/events/dead-letter', malformed, { 'dapr-caller-app-id': 'doctor-service' })).status).toBe(403);
      expect((await send('GET', '/ops/dead-letters?limit=0')).status).toBe(400);
    });
  });
});
