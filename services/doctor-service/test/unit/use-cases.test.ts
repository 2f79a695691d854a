import { userCaller } from '@caregrid/devkit';
import { ConflictError, ForbiddenError, NotFoundError, toPage, uuidv7 } from '@caregrid/platform';
import { assertVersion, doctorInputSchema, type Doctor, type DoctorRecord } from '../../src/domain/doctor.js';
import { doctorUseCases, type DoctorStore } from '../../src/use-cases.js';

/**
 * The doctor use cases through their ports, without servers: an in-memory doctor store that
 * keeps what DoctorRepository keeps and, like its transaction, applies a change only when it
 * returns, from the version the writer read.
 */
function memoryStore() {
  const records = new Map<string, Doctor>();
  const live = (id: string) => {
    const doctor = records.get(id);
    if (!doctor) throw new NotFoundError('doctor', id);
    return doctor;
  };
  const write = (id: string, record: DoctorRecord, version: number) => {
    records.set(id, { ...record, id, version, createdAt: 'c', updatedAt: 'u' });
    return live(id);
  };
  const matches = (doctor: Doctor, filter: { q?: string; searchEmail?: boolean }) =>
    !filter.q || doctor.name.startsWith(filter.q) || (!!filter.searchEmail && doctor.email.startsWith(filter.q));
  const store: DoctorStore = {
    create: async (record) => write(uuidv7(), record, 1),
    get: async (id) => live(id),
    update: async (id, expectedVersion, change) => {
      const current = live(id);
      assertVersion(current, expectedVersion);
      return write(id, change(current), current.version + 1);
    },
    delete: async (id, expectedVersion) => {
      assertVersion(live(id), expectedVersion);
      records.delete(id);
    },
    list: async (filter) =>
      toPage(
        [...records.values()].filter((d) => matches(d, filter)),
        filter.limit,
        (d) => d,
        (d) => [d.name, d.id],
      ),
    count: async (filter) => [...records.values()].filter((d) => matches(d, filter)).length,
  };
  return { store, records };
}

const user = userCaller;
const admin = user(['admin']);

const input = (name: string, licenseNumber: string) =>
  doctorInputSchema.parse({
    name,
    email: `${name.split(' ').pop()!.toLowerCase()}@ppth.org`,
    phone: '+1 609 0000',
    specialization: 'general-practice',
    licenseNumber,
    yearsOfExperience: 20,
    hospitalName: 'Princeton-Plainsboro',
    department: 'Diagnostics',
    workingHours: { mon: [{ start: '09:00', end: '17:00' }] },
    fees: { consultation: 9_000 },
  });

async function setUp() {
  const { store, records } = memoryStore();
  const doctors = doctorUseCases(store);
  const house = await doctors.create(admin, input('Gregory House', 'NJ-1'));
  const wilson = await doctors.create(admin, input('James Wilson', 'NJ-2'));
  return { doctors, records, house, wilson, asHouse: user(['doctor'], { doctorId: house.id }) };
}

describe('adding a doctor', () => {
  it('is for admins: the whole record is stored and answered', async () => {
    const { records, house } = await setUp();
    expect(records.get(house.id)).toEqual(house);
    expect(house).toMatchObject({ name: 'Gregory House', email: 'house@ppth.org', licenseNumber: 'NJ-1', version: 1 });
  });

  it('is refused (403) to everyone else, and nothing is stored', async () => {
    const { doctors, records, asHouse } = await setUp();
    for (const caller of [user(['receptionist']), asHouse, user(['patient'], { patientId: uuidv7() })]) {
      await expect(doctors.create(caller, input('Lisa Cuddy', 'NJ-3'))).rejects.toBeInstanceOf(ForbiddenError);
    }
    expect(records.size).toBe(2);
  });
});

describe('reading doctors', () => {
  it('the whole record for staff and the doctor themself, the public profile for everyone else', async () => {
    const { doctors, house, asHouse } = await setUp();
    await expect(doctors.read(user(['receptionist']), house.id)).resolves.toEqual(house);
    await expect(doctors.read(asHouse, house.id)).resolves.toEqual(house);
    for (const caller of [user(['patient'], { patientId: uuidv7() }), user(['doctor'], { doctorId: uuidv7() })]) {
      const seen = await doctors.read(caller, house.id);
      expect(seen).toMatchObject({ id: house.id, name: 'Gregory House', fees: { consultation: 9_000 } });
      for (const field of ['email', 'phone', 'licenseNumber']) expect(seen).not.toHaveProperty(field);
    }
  });

  it('a list and a search answer each doctor as the read does, and by email only to staff', async () => {
    const { doctors, house, wilson, asHouse } = await setUp();
    const page = { limit: 10 };
    const listed = await doctors.list(asHouse, {}, page);
    expect(listed.items).toEqual([await doctors.read(asHouse, house.id), await doctors.read(asHouse, wilson.id)]);
    expect(await doctors.search(user(['receptionist']), { q: 'wilson@' }, page)).toMatchObject({ items: [{ id: wilson.id }], total: 1 });
    await expect(doctors.search(asHouse, { q: 'wilson@' }, page)).rejects.toBeInstanceOf(ForbiddenError);
  });
});

describe("a doctor's self-service edits", () => {
  it('change phone, working hours and accepting on their own profile, keeping the rest', async () => {
    const { doctors, records, house, asHouse } = await setUp();
    const patch = { phone: null, workingHours: { mon: null, tue: [{ start: '10:00', end: '12:00' }] }, accepting: false };
    const changed = await doctors.patch(asHouse, house.id, patch, house.version);
    expect(changed).toMatchObject({
      phone: null,
      workingHours: { tue: [{ start: '10:00', end: '12:00' }] },
      accepting: false,
      licenseNumber: 'NJ-1',
      fees: { consultation: 9_000 },
      version: 2,
    });
    expect(changed.workingHours).not.toHaveProperty('mon');
    expect(records.get(house.id)).toEqual(changed);
  });

  it.each([
    [{ licenseNumber: 'NJ-9' }],
    [{ fees: { consultation: 1 } }],
    [{ specialization: 'cardiology' }],
    [{ email: 'me@ppth.org' }],
    [{ name: 'Greg House' }],
    [{ accepting: false, slotMinutes: 15 }],
  ])('refuse %j with 403 naming the allowed fields, and nothing changes', async (patch) => {
    const { doctors, records, house, asHouse } = await setUp();
    const error = await doctors.patch(asHouse, house.id, patch).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ForbiddenError);
    expect((error as ForbiddenError).details).toMatchObject({ allowedFields: ['phone', 'workingHours', 'accepting'] });
    expect(records.get(house.id)).toEqual(house);
  });

  it("reach no other doctor's profile, nor a replace of their own (403, nothing changes)", async () => {
    const { doctors, records, house, wilson, asHouse } = await setUp();
    await expect(doctors.patch(asHouse, wilson.id, { accepting: false })).rejects.toBeInstanceOf(ForbiddenError);
    await expect(doctors.replace(asHouse, house.id, input('Gregory House', 'NJ-1'))).rejects.toBeInstanceOf(ForbiddenError);
    expect([records.get(house.id), records.get(wilson.id)]).toEqual([house, wilson]);
  });

  it('are not the limit for an admin, who changes any field, from the version they read', async () => {
    const { doctors, house } = await setUp();
    await expect(doctors.patch(admin, house.id, { licenseNumber: 'NJ-9', fees: { consultation: 1 } }, 1)).resolves.toMatchObject({
      licenseNumber: 'NJ-9',
      fees: { consultation: 1 },
      version: 2,
    });
    await expect(doctors.patch(admin, house.id, { accepting: false }, 1)).rejects.toBeInstanceOf(ConflictError);
  });
});

describe('deleting a doctor', () => {
  it('is for admins: the doctor themself is refused (403) and stays', async () => {
    const { doctors, records, house, asHouse } = await setUp();
    await expect(doctors.remove(asHouse, house.id)).rejects.toBeInstanceOf(ForbiddenError);
    expect(records.has(house.id)).toBe(true);
    await doctors.remove(admin, house.id, house.version);
    await expect(doctors.read(admin, house.id)).rejects.toBeInstanceOf(NotFoundError);
  });
});
