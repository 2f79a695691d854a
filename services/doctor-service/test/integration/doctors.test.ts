/**
 * doctor-service against a real MariaDB database of its own (MySQL wire
 * protocol) and a real daprd publishing to the real Kafka broker.
 */
import { doctorCreated, doctorDeleted, doctorUpdated, Topics } from '@caregrid/contracts';
import { eventually, freshDatabase, readTopic, serviceUnderTest, type ServiceUnderTest, doctorProfile } from '@caregrid/devkit';
import { loadMigrations } from '@caregrid/platform';
import { createMysqlPool, migrateMysql, mysqlDatabase, type Pool } from '@caregrid/platform/mysql';
import type { RowDataPacket } from 'mysql2/promise';
import { createApp } from '../../src/app.js';
import { listQuery } from '../../src/data/doctor-repository.js';

const migrations = loadMigrations(new URL('../../src/data/migrations/', import.meta.url));

let service: ServiceUnderTest<Pool>;
let pool: Pool;
let send: ServiceUnderTest<Pool>['send'];

type DoctorBody = {
  id: string;
  name: string;
  email: string;
  version: number;
  accepting: boolean;
  specialization: string;
  workingHours: unknown;
  fees: Record<string, number>;
  currency: string;
};
type Problem = { status: number; errors?: { path: string }[]; field?: string; currentVersion?: number };

const newDoctor = (overrides: Record<string, unknown> = {}) =>
  doctorProfile({
    yearsOfExperience: 10,
    department: 'Heart',
    workingHours: { mon: [{ start: '09:00', end: '17:00' }] },
    timeZone: 'Europe/Berlin',
    fees: { consultation: 7_500, 'follow-up': 3_000 },
    ...overrides,
  });

const create = async (overrides: Record<string, unknown> = {}) => {
  const response = await send('POST', '/doctors', newDoctor(overrides));
  expect(response.status).toBe(201);
  return response.body as DoctorBody;
};

const countRows = async () => {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM doctors');
  return Number(rows[0]!.n);
};

beforeAll(async () => {
  service = await serviceUnderTest({ label: 'doctor-service', engine: 'mysql', open: mysqlDatabase(migrations), createApp });
  ({ db: pool, send } = service);
});

afterAll(() => service?.stop());

describe('create and read', () => {
  it('creates a doctor with defaults: 201, Location, ETag with the version', async () => {
    const created = await send('POST', '/doctors', newDoctor({ email: 'Dr.Who@Example.org', timeZone: undefined, slotMinutes: undefined }));
    expect(created.status).toBe(201);
    const doctor = created.body as DoctorBody;
    expect(created.headers.get('location')).toBe(`/doctors/${doctor.id}`);
    expect(created.headers.get('etag')).toBe('"1"');
    expect(doctor).toMatchObject({ email: 'dr.who@example.org', accepting: true, slotMinutes: 30, timeZone: 'UTC', version: 1 });
    expect(doctor.fees).toEqual({ consultation: 7_500, 'follow-up': 3_000 });
    expect(await send('GET', `/doctors/${doctor.id}`)).toMatchObject({ status: 200, body: doctor });
  });

  it('answers 409 naming the field for a duplicate email or license number, and writes nothing', async () => {
    const first = await create();
    const before = await countRows();
    const email = await send('POST', '/doctors', newDoctor({ email: first.email.toUpperCase() }));
    expect(email).toMatchObject({ status: 409, body: { field: 'email' } });
    const { licenseNumber } = (await send('GET', `/doctors/${first.id}`)).body as { licenseNumber: string };
    const license = await send('POST', '/doctors', newDoctor({ licenseNumber }));
    expect(license).toMatchObject({ status: 409, body: { field: 'licenseNumber' } });
    expect(await countRows()).toBe(before);
  });

  it('answers 400 with field paths for overlapping hours, bad zone, unknown field', async () => {
    const response = await send(
      'POST',
      '/doctors',
      newDoctor({
        workingHours: {
          mon: [
            { start: '09:00', end: '12:00' },
            { start: '11:00', end: '13:00' },
          ],
        },
        timeZone: 'Nowhere/Land',
        rating: 5,
      }),
    );
    expect(response.status).toBe(400);
    expect((response.body as Problem).errors!.map((e) => e.path).sort()).toEqual(['body', 'body.timeZone', 'body.workingHours.mon.1']);
  });

  it('answers 404 for an unknown doctor and 400 for a malformed id', async () => {
    expect((await send('GET', '/doctors/0190f0a0-0000-7000-8000-00000000ffff')).status).toBe(404);
    expect((await send('GET', '/doctors/abc')).status).toBe(400);
  });
});

describe('tariff', () => {
  it('stores fees per service type and the currency; a doctor created without them has an empty EUR tariff', async () => {
    const chf = await create({ fees: { surgery: 250_000, vaccination: 0 }, currency: 'CHF' });
    expect((await send('GET', `/doctors/${chf.id}`)).body).toMatchObject({ fees: { surgery: 250_000, vaccination: 0 }, currency: 'CHF' });
    const bare = await create({ fees: undefined, currency: undefined });
    expect(bare).toMatchObject({ fees: {}, currency: 'EUR' });
  });

  it('staff change one fee by merge patch (null removes it) and keep the others', async () => {
    const doctor = await create();
    const patched = await send('PATCH', `/doctors/${doctor.id}`, { fees: { consultation: 8_000, 'follow-up': null, checkup: 2_500 } });
    expect(patched).toMatchObject({ status: 200, body: { fees: { consultation: 8_000, checkup: 2_500 } } });
    expect((patched.body as DoctorBody).fees).not.toHaveProperty('follow-up');
  });

  it('answers 400 naming the field for an unknown service type, a fractional or negative fee, an unknown currency', async () => {
    const before = await countRows();
    const response = await send('POST', '/doctors', newDoctor({ fees: { consultation: 12.5, surgery: -1, massage: 10 }, currency: 'XYZ' }));
    expect(response.status).toBe(400);
    expect((response.body as Problem).errors!.map((e) => e.path).sort()).toEqual([
      'body.currency',
      'body.fees',
      'body.fees.consultation',
      'body.fees.surgery',
    ]);
    expect(await countRows()).toBe(before);
  });

  it('migration 002 gives doctors that existed before it an empty tariff in EUR', async () => {
    const scratch = await freshDatabase('mysql', 'doctor-tariff');
    const old = createMysqlPool(scratch.url);
    try {
      await migrateMysql(
        old,
        migrations.filter((m) => m.version < '002'),
      );
      await old.query(
        `INSERT INTO doctors (id, name, email, specialization, license_number, years_of_experience, hospital_name, department,
                              accepting, working_hours, slot_minutes, time_zone)
         VALUES (UUID(), 'Dr Old', 'old@example.org', 'urology', 'OLD-1', 30, 'General', 'Uro', TRUE, '{}', 30, 'UTC')`,
      );
      expect(await migrateMysql(old, migrations)).toContain('002_doctor_tariff');
      const [rows] = await old.query<RowDataPacket[]>('SELECT fees, currency FROM doctors');
      expect(rows.map((r) => ({ fees: typeof r.fees === 'string' ? JSON.parse(r.fees) : r.fees, currency: r.currency }))).toEqual([
        { fees: {}, currency: 'EUR' },
      ]);
    } finally {
      await old.end();
      await scratch.drop();
    }
  });
});

describe('optimistic locking', () => {
  it('PATCH with the current ETag succeeds and bumps the version; the stale ETag then gets 409', async () => {
    const doctor = await create();
    const first = await send('PATCH', `/doctors/${doctor.id}`, { accepting: false }, { 'if-match': '"1"' });
    expect(first).toMatchObject({ status: 200, body: { accepting: false, version: 2 } });
    expect(first.headers.get('etag')).toBe('"2"');
    const stale = await send('PATCH', `/doctors/${doctor.id}`, { accepting: true }, { 'if-match': '"1"' });
    expect(stale).toMatchObject({ status: 409, body: { currentVersion: 2 } });
    expect((await send('GET', `/doctors/${doctor.id}`)).body).toMatchObject({ accepting: false, version: 2 });
  });

  it('PUT carrying a stale version in the body gets 409', async () => {
    const doctor = await create();
    await send('PATCH', `/doctors/${doctor.id}`, { department: 'Other' });
    const stale = await send('PUT', `/doctors/${doctor.id}`, { ...newDoctor({ email: doctor.email }), version: 1 });
    expect(stale.status).toBe(409);
  });

  it('of two concurrent writers holding the same version, exactly one wins', async () => {
    const doctor = await create();
    const results = await Promise.all(
      ['Cardio A', 'Cardio B', 'Cardio C'].map((department) =>
        send('PATCH', `/doctors/${doctor.id}`, { department }, { 'if-match': '"1"' }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 409, 409]);
    expect((await send('GET', `/doctors/${doctor.id}`)).body).toMatchObject({ version: 2 });
  });
});

describe('soft delete', () => {
  it('hides the doctor, keeps the row, and frees email and license', async () => {
    const doctor = await create();
    const full = (await send('GET', `/doctors/${doctor.id}`)).body as DoctorBody & { licenseNumber: string };
    expect((await send('DELETE', `/doctors/${doctor.id}`, undefined, { 'if-match': '"1"' })).status).toBe(204);
    expect((await send('GET', `/doctors/${doctor.id}`)).status).toBe(404);
    expect((await send('DELETE', `/doctors/${doctor.id}`)).status).toBe(404);
    const [rows] = await pool.query<RowDataPacket[]>('SELECT deleted_at FROM doctors WHERE id = ?', [doctor.id]);
    expect(rows[0]!.deleted_at).toBeInstanceOf(Date);
    expect((await send('POST', '/doctors', newDoctor({ email: full.email, licenseNumber: full.licenseNumber }))).status).toBe(201);
  });
});

describe('filters, search and pagination', () => {
  it('filters by specialization and accepting, and searches name/email prefixes', async () => {
    const tag = `Flt${Date.now()}`;
    const neuroYes = await create({ name: `${tag} One`, specialization: 'neurology' });
    const neuroNo = await create({ name: `${tag} Two`, specialization: 'neurology', accepting: false });
    await create({ name: `${tag} Three`, specialization: 'urology' });
    const ids = async (query: string) =>
      ((await send('GET', `/doctors?q=${tag}&${query}`)).body as { items: DoctorBody[] }).items.map((d) => d.id);
    expect(await ids('specialization=neurology')).toEqual([neuroYes.id, neuroNo.id]);
    expect(await ids('specialization=neurology&accepting=false')).toEqual([neuroNo.id]);
    expect((await send('GET', '/doctors?specialization=astrology')).status).toBe(400);
    expect((await send('GET', '/doctors?accepting=maybe')).status).toBe(400);
  });

  it('pages in name order, stable while doctors are added concurrently', async () => {
    const tag = `Pg${Date.now()}`;
    const originals = await Promise.all(['B', 'D', 'F', 'H', 'J'].map((letter) => create({ name: `${tag} ${letter}` })));
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `/doctors?q=${tag}&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = (await send('GET', query)).body as { items: DoctorBody[]; nextCursor: string | null };
      seen.push(...page.items.map((d) => d.name));
      cursor = page.nextCursor;
      if (pages++ === 0) await Promise.all(['A', 'C', 'I', 'K'].map((letter) => create({ name: `${tag} ${letter}` })));
    } while (cursor);
    const originalNames = originals.map((d) => d.name);
    expect(seen.filter((name) => originalNames.includes(name))).toEqual(originalNames);
    expect(new Set(seen).size).toBe(seen.length);
  });
});

describe('names in parts and FHIR name search', () => {
  type Bundle = { total: number; entry?: { resource: { id: string } }[] };
  const tag = `Nm${Date.now().toString(36)}`;
  const fhirSearch = async (query: string) => {
    const answer = await send('GET', `/fhir/Practitioner?${query}`);
    expect([query, answer.status]).toEqual([query, 200]);
    return answer.body as Bundle;
  };
  /** The ids a FHIR search finds among this block's doctors (the name criteria are ANDed with the tag). */
  const found = async (query: string) => ((await fhirSearch(`given=${tag}&${query}`)).entry ?? []).map((entry) => entry.resource.id).sort();
  let mueller: DoctorBody & { family: string; given: string[] };
  let berg: DoctorBody & { family: string; given: string[] };

  beforeAll(async () => {
    // The JSON API as existing clients use it: one name, split by its last word.
    mueller = (await create({ name: `${tag} Anna  Müller` })) as typeof mueller;
    berg = (await send('POST', '/doctors', newDoctor({ name: undefined, family: 'van der Berg', given: [tag, 'Marie'] })))
      .body as typeof berg;
  });

  it('a name sent alone is split (the last word is the family name); the record answers name, family and given', async () => {
    expect(mueller).toMatchObject({ name: `${tag} Anna Müller`, family: 'Müller', given: [tag, 'Anna'] });
    expect(berg).toMatchObject({ name: `${tag} Marie van der Berg`, family: 'van der Berg', given: [tag, 'Marie'] });
    const renamed = await send('PATCH', `/doctors/${berg.id}`, { given: [tag, 'Marie', 'Luise'] });
    expect(renamed).toMatchObject({ status: 200, body: { name: `${tag} Marie Luise van der Berg`, family: 'van der Berg' } });
    expect(await found('given=luise')).toEqual([berg.id]);
    expect((await send('PATCH', `/doctors/${berg.id}`, { given: [tag, 'Marie'] })).status).toBe(200);
    expect(await found('given=luise')).toEqual([]);
    const read = (await send('GET', `/fhir/Practitioner/${mueller.id}`)).body as { name: unknown };
    expect(read.name).toEqual([{ use: 'official', text: `${tag} Anna Müller`, family: 'Müller', given: [tag, 'Anna'] }]);
  });

  it('Practitioner?name= finds the family name, the start of any part, ignoring case and accents', async () => {
    expect((await fhirSearch('name=M%C3%BCller')).entry?.map((entry) => entry.resource.id)).toEqual([mueller.id]);
    expect(await found('name=muller')).toEqual([mueller.id]);
    expect(await found('name=M%C3%9CL')).toEqual([mueller.id]);
    expect(await found('name=ann')).toEqual([mueller.id]);
    expect(await found('name=berg')).toEqual([berg.id]);
    expect(await found('name=uller')).toEqual([]);
  });

  it(':exact matches a whole part as written; :contains anywhere; family and given their own parts', async () => {
    expect(await found('name:exact=M%C3%BCller')).toEqual([mueller.id]);
    expect(await found('name:exact=muller')).toEqual([]);
    expect(await found('family:exact=van%20der%20Berg')).toEqual([berg.id]);
    expect(await found('given:exact=Anna')).toEqual([mueller.id]);
    expect(await found('given:exact=anna')).toEqual([]);
    expect(await found('name:contains=ulle')).toEqual([mueller.id]);
    expect(await found('family:contains=DER%20B')).toEqual([berg.id]);
    expect(await found('family=van%20der')).toEqual([berg.id]);
    expect(await found('family=anna')).toEqual([]);
    expect(await found('given=anna')).toEqual([mueller.id]);
  });

  it('migrations 003–006 split the names of doctors made before them and index their words', async () => {
    const scratch = await freshDatabase('mysql', 'doctor-names');
    const old = createMysqlPool(scratch.url);
    try {
      await migrateMysql(
        old,
        migrations.filter((m) => m.version < '003'),
      );
      const names = { spaced: ' Ann  Marie van der Berg ', single: 'Cher', quoted: 'Jo "JJ" O\'Neil Müller' };
      for (const [key, name] of Object.entries(names)) {
        await old.query(
          `INSERT INTO doctors (id, name, email, specialization, license_number, years_of_experience, hospital_name, department,
                                accepting, working_hours, slot_minutes, time_zone)
           VALUES (?, ?, ?, 'urology', ?, 30, 'General', 'Uro', TRUE, '{}', 30, 'UTC')`,
          [`00000000-0000-7000-8000-00000000000${Object.keys(names).indexOf(key)}`, name, `${key}@example.org`, `OLD-${key}`],
        );
      }
      expect(await migrateMysql(old, migrations)).toEqual(expect.arrayContaining(['003_name_parts', '006_name_words_fill']));
      const [rows] = await old.query<RowDataPacket[]>('SELECT email, family, given FROM doctors ORDER BY id');
      expect(rows.map((r) => [r.email, r.family, typeof r.given === 'string' ? JSON.parse(r.given) : r.given])).toEqual([
        ['spaced@example.org', 'Berg', ['Ann', 'Marie', 'van', 'der']],
        ['single@example.org', 'Cher', []],
        ['quoted@example.org', 'Müller', ['Jo', '"JJ"', "O'Neil"]],
      ]);
      const [words] = await old.query<RowDataPacket[]>(
        `SELECT d.email FROM doctors d WHERE d.id IN (SELECT doctor_id FROM doctor_name_words WHERE word LIKE 'mul%' AND part = 'family')`,
      );
      expect(words.map((r) => r.email)).toEqual(['quoted@example.org']);
    } finally {
      await old.end();
      await scratch.drop();
    }
  });

  it('a name search on 20,000 doctors reads the words index (EXPLAIN)', async () => {
    const scratch = await freshDatabase('mysql', 'doctor-name-index');
    const big = createMysqlPool(scratch.url);
    try {
      await migrateMysql(big, migrations);
      const numbers = `SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d AS n
        FROM (SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5
              UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) a,
             (SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5
              UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) b,
             (SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5
              UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) c,
             (SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5
              UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) e,
             (SELECT 0 d UNION ALL SELECT 1) f`;
      await big.query(
        `INSERT INTO doctors (id, name, family, given, email, specialization, license_number, years_of_experience, hospital_name,
                              department, accepting, working_hours, slot_minutes, time_zone)
         SELECT CONCAT('00000000-0000-7000-8000-', LPAD(n, 12, '0')), CONCAT('Given', n, ' Family', n), CONCAT('Family', n),
                JSON_ARRAY(CONCAT('Given', n)), CONCAT('d', n, '@example.org'), 'urology', CONCAT('L-', n), 1, 'General', 'Uro',
                TRUE, '{}', 30, 'UTC'
           FROM (${numbers}) numbers`,
      );
      await big.query(
        `INSERT INTO doctor_name_words (doctor_id, position, part, word)
         SELECT id, 0, 'given', JSON_UNQUOTE(JSON_EXTRACT(given, '$[0]')) FROM doctors
         UNION ALL SELECT id, 1, 'family', family FROM doctors`,
      );
      await big.query('ANALYZE TABLE doctors, doctor_name_words');
      const indexesUsed = async (query: { sql: string; params: unknown[] }) => {
        const [rows] = await big.query<RowDataPacket[]>(`EXPLAIN ${query.sql}`, query.params);
        return rows.map((row) => `${row.table}:${row.key}`);
      };
      for (const names of [
        [{ part: 'name' as const, match: 'start' as const, value: 'family1234' }],
        [{ part: 'family' as const, match: 'start' as const, value: 'Family1234' }],
        [{ part: 'given' as const, match: 'exact' as const, value: 'Given1234' }],
      ]) {
        expect([names[0], await indexesUsed(listQuery({ names, limit: 20 }))]).toEqual([
          names[0],
          expect.arrayContaining([expect.stringMatching(/:doctor_name_words_prefix$/)]),
        ]);
      }
    } finally {
      await big.end();
      await scratch.drop();
    }
  }, 120_000);
});

describe('events', () => {
  it('publishes created, updated and deleted to the doctors topic on Kafka, in order', async () => {
    const doctor = await create();
    await send('PATCH', `/doctors/${doctor.id}`, { accepting: false });
    await send('DELETE', `/doctors/${doctor.id}`);
    const events = await eventually(() => {
      const mine = readTopic(Topics.doctors).filter((e) => (e as { subject?: string }).subject === doctor.id);
      return mine.length === 3 ? mine : undefined;
    });
    expect(events.map((e) => (e as { type: string }).type)).toEqual([doctorCreated.type, doctorUpdated.type, doctorDeleted.type]);
    expect(doctorCreated.parse(events[0]).data).toMatchObject({
      doctorId: doctor.id,
      specialization: 'cardiology',
      fees: { consultation: 7_500, 'follow-up': 3_000 },
      currency: 'EUR',
      version: 1,
    });
    expect(doctorUpdated.parse(events[1]).data).toMatchObject({ accepting: false, version: 2 });
    expect(doctorDeleted.parse(events[2]).data).toEqual({ doctorId: doctor.id, version: 3 });
  });
});
