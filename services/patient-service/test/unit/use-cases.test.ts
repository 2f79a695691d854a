import { userCaller } from '@caregrid/devkit';
import { ForbiddenError, NotFoundError, PreconditionFailedError, scopeIds, toPage, uuidv7, type Scope } from '@caregrid/platform';
import { patientInputSchema, type Patient, type PatientRecord } from '../../src/domain/patient.js';
import { patientUseCases, type PatientStore } from '../../src/use-cases.js';

/**
 * The patient use cases through their ports, without servers: an in-memory patient store that
 * keeps what PatientRepository keeps (records, care appointments) and applies a change only when
 * it returns (as the repository's transaction does).
 */
function memoryStore() {
  const records = new Map<string, Patient>();
  const care = new Map<string, { patientId: string; doctorId: string; state: 'booked' | 'cancelled' }>();
  const live = (id: string) => {
    const patient = records.get(id);
    if (!patient) throw new NotFoundError('patient', id);
    return patient;
  };
  const careTeamOf = (patientId: string) =>
    [...care.values()].filter((c) => c.patientId === patientId && c.state !== 'cancelled').map((c) => c.doctorId);
  const inScope = (patient: Patient, scope: Scope) =>
    scope.all ||
    scopeIds(scope, 'patientId').includes(patient.id) ||
    scopeIds(scope, 'careTeamOf').some((doctorId) => careTeamOf(patient.id).includes(doctorId));
  const stamp = (id: string, record: PatientRecord, version = 1): Patient => ({ ...record, id, version, createdAt: 'c', updatedAt: 'u' });
  const store: PatientStore = {
    create: async (record, id = uuidv7()) => {
      records.set(id, stamp(id, record));
      return live(id);
    },
    getWithCareTeam: async (id) => ({ patient: live(id), careTeam: careTeamOf(id) }),
    update: async (id, change) => {
      const current = live(id);
      records.set(id, stamp(id, change(current), current.version + 1));
      return live(id);
    },
    delete: async (id) => {
      live(id);
      records.delete(id);
    },
    list: async (options, scope) => {
      const found = [...records.values()].filter((p) => inScope(p, scope) && (!options.q || p.name.startsWith(options.q)));
      return toPage(
        found,
        options.limit,
        (p) => p,
        (p) => [p.name, p.id],
      );
    },
    count: async (filter, scope) =>
      [...records.values()].filter((p) => inScope(p, scope) && (!filter.q || p.name.startsWith(filter.q))).length,
    recordCareAppointment: async ({ appointmentId, patientId, doctorId, state }) => {
      if (care.get(appointmentId)?.state === 'cancelled') return;
      care.set(appointmentId, { patientId, doctorId, state });
    },
  };
  return { store, records };
}

const user = userCaller;
const admin = user(['admin']);
const reception = user(['receptionist']);
const DOCTOR = '0190f0a0-0000-7000-8000-0000000000d1';

const input = (name: string) =>
  patientInputSchema.parse({
    name,
    email: `${name.toLowerCase().replace(/\s/g, '.')}@example.org`,
    dateOfBirth: '1990-05-01',
    gender: 'female',
    phone: '+44 1',
    details: { allergies: ['penicillin'], insurance: { provider: 'NHS', policyNumber: 'A-1' } },
  });

async function setUp() {
  const { store, records } = memoryStore();
  const trail = async () => ({ items: [], nextCursor: null });
  const patients = patientUseCases({ patients: store, auditTrail: trail, now: () => new Date('2031-01-01T12:00:00Z') });
  const ada = await patients.register(reception, input('Ada Lovelace'));
  const bo = await patients.register(reception, input('Bo Peep'));
  return { patients, records, ada, bo, asAda: user(['patient'], { patientId: ada.id }) };
}

describe('registering a patient', () => {
  it('is for staff: the record is stored with its derived name', async () => {
    const { patients, records, ada } = await setUp();
    expect(records.get(ada.id)).toMatchObject({ name: 'Ada Lovelace', family: 'Lovelace', given: ['Ada'] });
    await expect(patients.read(admin, ada.id)).resolves.toEqual(ada);
  });

  it('is refused (403) to a patient or a doctor, and nothing is stored', async () => {
    const { patients, records, asAda } = await setUp();
    for (const caller of [asAda, user(['doctor'], { doctorId: DOCTOR })]) {
      await expect(patients.register(caller, input('Eve Intruder'))).rejects.toBeInstanceOf(ForbiddenError);
    }
    expect(records.size).toBe(2);
  });
});

describe('reading a patient', () => {
  it('staff read anyone, a patient only themself; another patient answers as absent', async () => {
    const { patients, ada, bo, asAda } = await setUp();
    await expect(patients.read(reception, bo.id)).resolves.toMatchObject({ id: bo.id });
    await expect(patients.read(asAda, ada.id)).resolves.toMatchObject({ id: ada.id });
    await expect(patients.read(asAda, bo.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('a doctor reads a patient while an appointment that was not cancelled puts them in the care team', async () => {
    const { patients, ada } = await setUp();
    const doctor = user(['doctor'], { doctorId: DOCTOR });
    const appointment = { appointmentId: uuidv7(), patientId: ada.id, doctorId: DOCTOR, start: '2031-02-01T09:00:00Z' };
    await expect(patients.read(doctor, ada.id)).rejects.toBeInstanceOf(NotFoundError);
    await patients.careAppointmentBooked(appointment, '2031-01-01T12:00:00Z');
    await expect(patients.read(doctor, ada.id)).resolves.toMatchObject({ id: ada.id });
    expect((await patients.list(doctor, {}, { limit: 10 })).items.map((p) => p.id)).toEqual([ada.id]);
    await patients.careAppointmentCancelled(appointment);
    await expect(patients.read(doctor, ada.id)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('searching patients (the JSON list and the FHIR search alike)', () => {
  it('answers only the records the caller may read: a patient their own, staff all', async () => {
    const { patients, ada, asAda } = await setUp();
    const page = { limit: 10 };
    expect((await patients.list(asAda, {}, page)).items.map((p) => p.id)).toEqual([ada.id]);
    expect(await patients.search(asAda, {}, page)).toMatchObject({ items: [{ id: ada.id }], total: 1 });
    expect(await patients.count(asAda, {})).toBe(1);
    expect((await patients.list(reception, {}, page)).items).toHaveLength(2);
    expect(await patients.search(reception, { q: 'Bo' }, page)).toMatchObject({ items: [{ name: 'Bo Peep' }], total: 1 });
  });
});

describe("a patient's self-service edits", () => {
  it('change phone, address and the emergency contact of their own record, keeping the rest', async () => {
    const { patients, records, ada, asAda } = await setUp();
    const emergencyContact = { name: 'Mary', phone: '2', relation: 'friend' };
    const changed = await patients.patch(asAda, ada.id, { phone: '+44 9', address: '1 Square', details: { emergencyContact } });
    expect(changed).toMatchObject({
      phone: '+44 9',
      address: '1 Square',
      email: ada.email,
      details: { allergies: ['penicillin'], emergencyContact },
    });
    expect(records.get(ada.id)).toEqual(changed);
  });

  it.each([
    [{ email: 'me@example.org' }],
    [{ name: 'Ada King' }],
    [{ details: { allergies: [] } }],
    [{ userId: uuidv7() }],
    [{ phone: '3', dateOfBirth: '1991-01-01' }],
  ])('refuse %j with 403 naming the allowed fields, and nothing changes', async (patch) => {
    const { patients, records, ada, asAda } = await setUp();
    const error = await patients.patch(asAda, ada.id, patch).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ForbiddenError);
    expect((error as ForbiddenError).details).toMatchObject({ allowedFields: ['phone', 'address', 'details.emergencyContact'] });
    expect(records.get(ada.id)).toEqual(ada);
  });

  it("reach no one else's record (as absent); nor do a doctor's, even in the care team", async () => {
    const { patients, records, bo, asAda } = await setUp();
    await expect(patients.patch(asAda, bo.id, { phone: '5' })).rejects.toBeInstanceOf(NotFoundError);
    const doctor = user(['doctor'], { doctorId: DOCTOR });
    await patients.careAppointmentBooked({ appointmentId: uuidv7(), patientId: bo.id, doctorId: DOCTOR, start: '2031-02-01T09:00:00Z' });
    // The write checks decide on whose record it is, not on the care team: as absent (404), as today.
    await expect(patients.patch(doctor, bo.id, { phone: '5' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(patients.replace(doctor, bo.id, input('Bo Peep'))).rejects.toBeInstanceOf(NotFoundError);
    expect(records.get(bo.id)).toEqual(bo);
  });

  it('are not the limit for staff, who change any field', async () => {
    const { patients, ada } = await setUp();
    await expect(patients.patch(reception, ada.id, { email: 'ada@king.org', details: { allergies: [] } })).resolves.toMatchObject({
      email: 'ada@king.org',
      details: { allergies: [] },
    });
  });
});

describe('versions (FHIR If-Match) and conditional create (If-None-Exist)', () => {
  it('a write naming the current version goes through and counts it up; a stale one is a 412 and changes nothing', async () => {
    const { patients, records, ada } = await setUp();
    expect(ada.version).toBe(1);
    const changed = await patients.patch(reception, ada.id, { phone: '+44 2' }, 1);
    expect(changed.version).toBe(2);
    await expect(patients.replace(reception, ada.id, input('Ada King'), 1)).rejects.toBeInstanceOf(PreconditionFailedError);
    await expect(patients.patch(reception, ada.id, () => ({ phone: '3' }), 1)).rejects.toBeInstanceOf(PreconditionFailedError);
    expect(records.get(ada.id)).toEqual(changed);
    // A patient sees no version of a record not theirs: as absent, before any version check.
    const { asAda, bo } = await setUp();
    await expect(patients.patch(asAda, bo.id, { phone: '5' }, 99)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('a computed change sees the current record only once the caller may change it', async () => {
    const { patients, ada, bo, asAda } = await setUp();
    const seen: string[] = [];
    const change = (current: { id: string }) => (seen.push(current.id), { phone: '7' });
    await expect(patients.patch(asAda, bo.id, change)).rejects.toBeInstanceOf(NotFoundError);
    await expect(patients.replace(asAda, ada.id, () => input('Ada'))).rejects.toBeInstanceOf(ForbiddenError);
    expect(seen).toEqual([]);
    await expect(patients.patch(asAda, ada.id, change)).resolves.toMatchObject({ phone: '7' });
    expect(seen).toEqual([ada.id]);
  });

  it('registers unless the search finds one (then that one, nothing stored); several: 412', async () => {
    const { patients, records, ada } = await setUp();
    const again = await patients.registerUnlessFound(reception, input('Ada Lovelace'), { q: 'Ada' });
    expect(again).toEqual({ patient: ada, created: false });
    expect(records.size).toBe(2);
    const fresh = await patients.registerUnlessFound(reception, input('Cy Twombly'), { q: 'Cy' });
    expect([fresh.created, records.size]).toEqual([true, 3]);
    await patients.register(reception, input('Cy Young'));
    await expect(patients.registerUnlessFound(reception, input('Cy Other'), { q: 'Cy' })).rejects.toBeInstanceOf(PreconditionFailedError);
    expect(records.size).toBe(4);
  });
});

describe('deleting a patient', () => {
  it('is for admins: a receptionist is refused (403) and the record stays', async () => {
    const { patients, records, ada } = await setUp();
    await expect(patients.remove(reception, ada.id)).rejects.toBeInstanceOf(ForbiddenError);
    expect(records.has(ada.id)).toBe(true);
    await patients.remove(admin, ada.id);
    await expect(patients.read(admin, ada.id)).rejects.toBeInstanceOf(NotFoundError);
  });
});
