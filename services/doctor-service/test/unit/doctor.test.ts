import { doctorForBooking } from '@caregrid/contracts';
import { ConflictError, ForbiddenError, InvalidInputError, type Caller } from '@caregrid/platform';
import { doctorView, searchTextScope } from '../../src/domain/doctor-access.js';
import {
  assertVersion,
  doctorInputSchema,
  mergeDoctor,
  mergeOwnDoctorProfile,
  toDoctorRecord,
  versionFromIfMatch,
  type Doctor,
} from '../../src/domain/doctor.js';
import { doctorResponse } from '../../src/http/schemas.js';

const valid = {
  name: 'Dr. Gregory House',
  email: 'House@PPTH.org',
  specialization: 'general-practice',
  licenseNumber: 'NJ-12345',
  yearsOfExperience: 20,
  hospitalName: 'Princeton-Plainsboro',
  department: 'Diagnostics',
};

const paths = (input: unknown) => {
  const result = doctorInputSchema.safeParse(input);
  return result.success ? [] : result.error.issues.map((i) => i.path.join('.'));
};

describe('doctor input', () => {
  it('applies defaults and normalises the email', () => {
    expect(toDoctorRecord(doctorInputSchema.parse(valid))).toMatchObject({
      email: 'house@ppth.org',
      accepting: true,
      slotMinutes: 30,
      timeZone: 'UTC',
      workingHours: {},
      phone: null,
      fees: {},
      currency: 'EUR',
    });
  });

  it('takes a tariff per service type in integer minor units and one ISO 4217 currency', () => {
    const input = doctorInputSchema.parse({ ...valid, fees: { consultation: 8_000, vaccination: 0 }, currency: 'CHF' });
    expect(input).toMatchObject({ fees: { consultation: 8_000, vaccination: 0 }, currency: 'CHF' });
    expect(paths({ ...valid, fees: { consultation: 80.5, surgery: -1, massage: 100 }, currency: 'XYZ' }).sort()).toEqual([
      'currency',
      'fees',
      'fees.consultation',
      'fees.surgery',
    ]);
    expect(paths({ ...valid, currency: 'eur' })).toEqual(['currency']);
  });

  it('accepts touching intervals, sorts them, and rejects overlaps and reversed ones with their path', () => {
    const ok = doctorInputSchema.parse({
      ...valid,
      workingHours: {
        mon: [
          { start: '13:00', end: '17:00' },
          { start: '09:00', end: '13:00' },
        ],
      },
    });
    expect(ok.workingHours.mon).toEqual([
      { start: '09:00', end: '13:00' },
      { start: '13:00', end: '17:00' },
    ]);
    expect(
      paths({
        ...valid,
        workingHours: {
          tue: [
            { start: '09:00', end: '12:00' },
            { start: '11:30', end: '14:00' },
          ],
          wed: [{ start: '10:00', end: '09:00' }],
        },
      }),
    ).toEqual(['workingHours.tue.1', 'workingHours.wed.0.end']);
  });

  it('rejects malformed clock times, unknown weekdays, bad zones and specializations', () => {
    expect(
      paths({
        ...valid,
        specialization: 'astrology',
        timeZone: 'Mars/Olympus',
        workingHours: { mon: [{ start: '9:00', end: '24:00' }], someday: [] },
      }).sort(),
    ).toEqual(['specialization', 'timeZone', 'workingHours', 'workingHours.mon.0.end', 'workingHours.mon.0.start']);
    expect(paths({ ...valid, timeZone: 'America/New_York', yearsOfExperience: -1 })).toEqual(['yearsOfExperience']);
  });
});

describe('optimistic locking', () => {
  const doctor = { id: 'd1', version: 3 } as Doctor;

  it('reads If-Match strong and weak ETags; * means any version', () => {
    expect(versionFromIfMatch('"3"')).toBe(3);
    expect(versionFromIfMatch('W/"7"')).toBe(7);
    expect(versionFromIfMatch('*')).toBeUndefined();
    expect(versionFromIfMatch(undefined)).toBeUndefined();
    expect(() => versionFromIfMatch('3')).toThrow(InvalidInputError);
  });

  it('refuses a stale version and accepts the current one or none', () => {
    expect(() => assertVersion(doctor, 2)).toThrow(ConflictError);
    expect(() => assertVersion(doctor, 3)).not.toThrow();
    expect(() => assertVersion(doctor, undefined)).not.toThrow();
  });
});

describe('merge patch', () => {
  it('replaces one day of working hours and keeps the others', () => {
    const current: Doctor = {
      ...toDoctorRecord(
        doctorInputSchema.parse({
          ...valid,
          workingHours: { mon: [{ start: '09:00', end: '12:00' }], fri: [{ start: '08:00', end: '10:00' }] },
        }),
      ),
      id: 'd1',
      version: 1,
      createdAt: '',
      updatedAt: '',
    };
    const merged = mergeDoctor(current, { workingHours: { mon: [{ start: '10:00', end: '11:00' }], fri: null }, version: 1 });
    expect(merged.workingHours).toEqual({ mon: [{ start: '10:00', end: '11:00' }] });
  });
});

describe('self-service edits of the own profile', () => {
  const current: Doctor = {
    ...toDoctorRecord(
      doctorInputSchema.parse({
        ...valid,
        phone: '555-0100',
        workingHours: { mon: [{ start: '09:00', end: '12:00' }] },
        fees: { consultation: 9_000 },
      }),
    ),
    id: 'd1',
    version: 4,
    createdAt: '',
    updatedAt: '',
  };
  const refusal = (patch: Record<string, unknown>) => {
    try {
      mergeOwnDoctorProfile(current, patch);
    } catch (error) {
      return error;
    }
    return undefined;
  };

  it('merges phone, working hours and accepting (with a version) like a staff patch', () => {
    const patch = { phone: '555-0199', workingHours: { mon: null, tue: [{ start: '10:00', end: '11:00' }] }, accepting: false, version: 4 };
    const merged = mergeOwnDoctorProfile(current, patch);
    expect(merged).toEqual(mergeDoctor(current, patch));
    expect(merged).toMatchObject({ phone: '555-0199', workingHours: { tue: [{ start: '10:00', end: '11:00' }] }, accepting: false });
    expect(merged).toMatchObject({ licenseNumber: current.licenseNumber, fees: { consultation: 9_000 } });
  });

  it.each([
    ['licenseNumber', 'X'],
    ['specialization', 'surgery'],
    ['fees', { consultation: 1 }],
    ['currency', 'USD'],
    ['email', 'me@example.org'],
    ['name', 'Dr. Me'],
    ['slotMinutes', 5],
    ['timeZone', 'UTC'],
    ['hospitalName', 'Elsewhere'],
    ['department', 'Other'],
    ['yearsOfExperience', 50],
  ])('refuses %s with 403 listing the fields an owner may change', (field, value) => {
    const error = refusal({ phone: '555-0199', [field]: value });
    expect(error).toBeInstanceOf(ForbiddenError);
    expect((error as ForbiddenError).details).toEqual({ allowedFields: ['phone', 'workingHours', 'accepting'], refusedFields: [field] });
  });

  it('refuses even a null (removal) of a staff field, and an unknown member', () => {
    expect((refusal({ fees: null }) as ForbiddenError).details.refusedFields).toEqual(['fees']);
    expect((refusal({ rating: 5, constructor: 1 }) as ForbiddenError).details.refusedFields).toEqual(['rating', 'constructor']);
  });

  it('still validates the merged profile: bad hours are 400, not a 403', () => {
    expect(refusal({ workingHours: { mon: [{ start: '12:00', end: '09:00' }] } })).toBeInstanceOf(InvalidInputError);
  });
});

describe('the contract appointment-service reads', () => {
  it('is met by the doctor as doctor-service serves it', () => {
    const served = doctorResponse.parse({
      ...toDoctorRecord(
        doctorInputSchema.parse({ ...valid, fees: { checkup: 4_000 }, workingHours: { fri: [{ start: '08:00', end: '10:00' }] } }),
      ),
      id: '0190f0a0-0000-7000-8000-000000000001',
      version: 1,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
    });
    expect(doctorForBooking.parse(served)).toMatchObject({
      fees: { checkup: 4_000 },
      currency: 'EUR',
      workingHours: { fri: [{ start: '08:00' }] },
    });
  });
});

describe('who sees what of a doctor', () => {
  const doctor: Doctor = {
    ...toDoctorRecord(
      doctorInputSchema.parse({
        ...valid,
        phone: '555-0100',
        fees: { consultation: 9_000 },
        workingHours: { mon: [{ start: '09:00', end: '12:00' }] },
      }),
    ),
    id: '0190f0a0-0000-7000-8000-000000000001',
    version: 2,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-02T00:00:00.000Z',
  };
  const user = (roles: string[], links: { patientId?: string; doctorId?: string } = {}) =>
    ({ kind: 'user', userId: 'u1', roles, ...links }) as Caller;
  const PRIVATE = ['email', 'phone', 'licenseNumber', 'yearsOfExperience', 'createdAt', 'updatedAt'];

  it.each([
    ['an admin', user(['admin'])],
    ['a receptionist', user(['receptionist'])],
    ['the doctor themself', user(['doctor'], { doctorId: doctor.id })],
  ])('%s gets the whole record', (_who, caller) => {
    expect(doctorView(caller, doctor)).toEqual(doctor);
  });

  it.each([
    ['a patient', user(['patient'], { patientId: 'p1' })],
    ['an account linked to nothing', user(['patient'])],
    ['another doctor', user(['doctor'], { doctorId: '0190f0a0-0000-7000-8000-000000000002' })],
    ['appointment-service', { kind: 'service', appId: 'appointment-service' } as Caller],
  ])('%s gets the public profile: enough to choose and book, no way to reach the doctor', (_who, caller) => {
    const seen = doctorView(caller, doctor);
    for (const field of PRIVATE) expect(seen).not.toHaveProperty(field);
    expect(seen).toMatchObject({ id: doctor.id, name: doctor.name, specialization: 'general-practice', workingHours: doctor.workingHours });
    expect(doctorForBooking.parse(seen)).toMatchObject({ fees: { consultation: 9_000 }, currency: 'EUR', slotMinutes: 30 });
  });

  it('a search text matches email addresses for staff only; anyone else searching by one is refused', () => {
    expect(searchTextScope(user(['receptionist']), 'house@')).toEqual({ searchEmail: true });
    expect(searchTextScope(user(['patient']), 'House')).toEqual({ searchEmail: false });
    expect(searchTextScope(user(['doctor'], { doctorId: doctor.id }), undefined)).toEqual({ searchEmail: false });
    for (const caller of [user(['patient'], { patientId: 'p1' }), user(['patient']), user(['doctor'], { doctorId: doctor.id })]) {
      expect(() => searchTextScope(caller, 'house@ppth')).toThrow(ForbiddenError);
    }
  });
});
