import { InvalidInputError } from '@caregrid/platform';
import { mergePatient, patientInputSchema, toPatientRecord, type Patient } from '../../src/domain/patient.js';

const today = '2026-11-25';

const patient: Patient = {
  id: '0190f0a0-0000-7000-8000-000000000001',
  name: 'Ada Lovelace',
  email: 'ada@example.org',
  phone: '+44 20 7946 0000',
  address: '12 St James Square, London',
  dateOfBirth: '1915-12-10',
  gender: 'female',
  details: { allergies: ['penicillin'], insurance: { provider: 'NHS', policyNumber: 'A-1' } },
  userId: null,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
};

describe('patient rules', () => {
  it('normalises the email and fills optional fields explicitly', () => {
    const input = patientInputSchema.parse({ name: 'Bo', email: ' Bo@Example.ORG', dateOfBirth: '2000-02-29', gender: 'other' });
    expect(toPatientRecord(input, today)).toEqual({
      name: 'Bo',
      email: 'bo@example.org',
      phone: null,
      address: null,
      dateOfBirth: '2000-02-29',
      gender: 'other',
      details: {},
      userId: null,
    });
  });

  it('refuses a birth date in the future but accepts today', () => {
    const base = { name: 'Bo', email: 'bo@example.org', gender: 'male' as const };
    expect(() => toPatientRecord({ ...base, dateOfBirth: '2026-11-26' }, today)).toThrow(InvalidInputError);
    expect(toPatientRecord({ ...base, dateOfBirth: today }, today).dateOfBirth).toBe(today);
  });

  it('refuses a birth year no database here stores alike (year 0900, year 0000), naming the field', () => {
    for (const dateOfBirth of ['0900-02-04', '0000-01-01', '1899-12-31']) {
      const result = patientInputSchema.safeParse({ name: 'Bo', email: 'bo@example.org', gender: 'male', dateOfBirth });
      expect(result.error?.issues.map((issue) => [issue.path.join('.'), issue.message])).toEqual([
        ['dateOfBirth', 'year must be between 1900 and 2999'],
      ]);
    }
  });

  it('rejects impossible dates and unknown fields in the shape', () => {
    expect(patientInputSchema.safeParse({ name: 'Bo', email: 'bo@example.org', gender: 'male', dateOfBirth: '2001-02-29' }).success).toBe(
      false,
    );
    expect(
      patientInputSchema.safeParse({ name: 'Bo', email: 'bo@example.org', gender: 'male', dateOfBirth: '2001-02-28', ssn: '1' }).success,
    ).toBe(false);
  });
});

describe('merge patch', () => {
  it('replaces given fields, removes null ones, and merges nested details', () => {
    const record = mergePatient(
      patient,
      { phone: '+1 555 0100', address: null, details: { allergies: ['latex'], insurance: null } },
      today,
    );
    expect(record).toMatchObject({ phone: '+1 555 0100', address: null, name: 'Ada Lovelace', details: { allergies: ['latex'] } });
    expect(record.details.insurance).toBeUndefined();
  });

  it('reports every field the patched record gets wrong', () => {
    try {
      mergePatient(patient, { name: null, email: 'not-an-email', nickname: 'x' }, today);
      throw new Error('expected a failure');
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidInputError);
      expect((error as InvalidInputError).issues.map((i) => i.path).sort()).toEqual(['(root)', 'email', 'name']);
    }
  });

  it('applies the birth-date rule to the merged record too', () => {
    expect(() => mergePatient(patient, { dateOfBirth: '2030-01-01' }, today)).toThrow(/future/);
  });
});
