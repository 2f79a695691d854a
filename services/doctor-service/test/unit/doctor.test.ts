import { ConflictError, InvalidInputError } from '@caregrid/platform';
import { assertVersion, doctorInputSchema, mergeDoctor, toDoctorRecord, versionFromIfMatch, type Doctor } from '../../src/domain/doctor.js';

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
    });
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
