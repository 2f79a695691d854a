import { ForbiddenError, InvalidInputError } from '@caregrid/platform';
import {
  mergeOwnPatientRecord,
  mergePatchBetween,
  mergePatient,
  patientInputSchema,
  toPatientInput,
  toPatientRecord,
  type Patient,
} from '../../src/domain/patient.js';

const today = '2026-11-25';

const patient: Patient = {
  id: '0190f0a0-0000-7000-8000-000000000001',
  name: 'Ada Lovelace',
  family: 'Lovelace',
  given: ['Ada'],
  email: 'ada@example.org',
  phone: '+44 20 7946 0000',
  address: '12 St James Square, London',
  dateOfBirth: '1915-12-10',
  gender: 'female',
  details: { allergies: ['penicillin'], insurance: { provider: 'NHS', policyNumber: 'A-1' } },
  userId: null,
  version: 1,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
};

describe('patient rules', () => {
  it('normalises the email and fills optional fields explicitly', () => {
    const input = patientInputSchema.parse({ name: 'Bo', email: ' Bo@Example.ORG', dateOfBirth: '2000-02-29', gender: 'other' });
    expect(toPatientRecord(input, today)).toEqual({
      name: 'Bo',
      family: 'Bo',
      given: [],
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

describe('names', () => {
  const base = { email: 'bo@example.org', gender: 'male' as const, dateOfBirth: '2000-01-01' };
  const record = (input: Record<string, unknown>) => toPatientRecord(patientInputSchema.parse({ ...base, ...input }), today);
  const issues = (input: Record<string, unknown>) =>
    patientInputSchema.safeParse({ ...base, ...input }).error?.issues.map((issue) => [issue.path.join('.'), issue.message]);

  it('takes family and given, and derives the display name', () => {
    expect(record({ family: 'van der Berg', given: ['Ann', 'Marie'] })).toMatchObject({
      name: 'Ann Marie van der Berg',
      family: 'van der Berg',
      given: ['Ann', 'Marie'],
    });
    expect(record({ family: 'Cher' })).toMatchObject({ name: 'Cher', family: 'Cher', given: [] });
  });

  it('splits a name sent alone: the last word is the family name', () => {
    expect(record({ name: '  Ann   Marie Müller ' })).toMatchObject({
      name: 'Ann Marie Müller',
      family: 'Müller',
      given: ['Ann', 'Marie'],
    });
  });

  it('accepts a name beside family and given only when it is their display name', () => {
    expect(record({ name: 'Ann  Berg', family: 'Berg', given: ['Ann'] }).name).toBe('Ann Berg');
    expect(issues({ name: 'Someone Else', family: 'Berg', given: ['Ann'] })).toEqual([['name', expect.stringMatching(/derived/)]]);
    expect(issues({ given: ['Ann'] })).toEqual([['family', 'required with given']]);
    expect(issues({})).toEqual([['name', expect.stringMatching(/^required/)]]);
  });

  it('a patch renames by name (split again) or by family and given', () => {
    expect(mergePatient(patient, { name: 'Augusta Ada King' }, today)).toMatchObject({ family: 'King', given: ['Augusta', 'Ada'] });
    expect(mergePatient(patient, { family: 'King' }, today)).toMatchObject({ name: 'Ada King', family: 'King', given: ['Ada'] });
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

describe('self-service edits of the own record', () => {
  const refusal = (patch: Record<string, unknown>) => {
    try {
      mergeOwnPatientRecord(patient, patch, today);
    } catch (error) {
      return error;
    }
    return undefined;
  };
  const allowedFields = ['phone', 'address', 'details.emergencyContact'];

  it('merges phone, address and the emergency contact like a staff patch, keeping the rest', () => {
    const patch = {
      phone: '+44 20 7946 0999',
      address: null,
      details: { emergencyContact: { name: 'Mary', phone: '1', relation: 'friend' } },
    };
    const record = mergeOwnPatientRecord(patient, patch, today);
    expect(record).toEqual(mergePatient(patient, patch, today));
    expect(record).toMatchObject({
      phone: '+44 20 7946 0999',
      address: null,
      userId: null,
      details: { allergies: ['penicillin'], insurance: { provider: 'NHS', policyNumber: 'A-1' }, emergencyContact: { name: 'Mary' } },
    });
    expect(mergeOwnPatientRecord({ ...patient, details: record.details }, { details: { emergencyContact: null } }, today).details).toEqual(
      patient.details,
    );
  });

  it.each([
    [{ userId: '0190f0a0-0000-7000-8000-000000000002' }, ['userId']],
    [{ email: 'me@example.org', name: 'Me' }, ['email', 'name']],
    [{ dateOfBirth: '1990-01-01', gender: 'male' }, ['dateOfBirth', 'gender']],
    [{ details: { allergies: [] } }, ['details.allergies']],
    [{ phone: '1', details: { insurance: null, emergencyContact: null } }, ['details.insurance']],
    [{ details: null }, ['details']],
  ])('refuses %j with 403 listing the fields a patient may change', (patch, refusedFields) => {
    const error = refusal(patch);
    expect(error).toBeInstanceOf(ForbiddenError);
    expect((error as ForbiddenError).details).toEqual({ allowedFields, refusedFields });
  });

  it('still validates the merged record: a half emergency contact is 400, not a 403', () => {
    expect(refusal({ details: { emergencyContact: { name: 'Mary' } } })).toBeInstanceOf(InvalidInputError);
  });
});

describe("mergePatchBetween (a FHIR JSON Patch as the JSON API's merge patch)", () => {
  it('names only what differs, null for what is gone, details member by member, whatever the order of members', () => {
    const current = toPatientInput(patient);
    expect(
      mergePatchBetween(current, {
        ...current,
        details: { insurance: { policyNumber: 'A-1', provider: 'NHS' }, allergies: ['penicillin'] },
      }),
    ).toEqual({});
    expect(
      mergePatchBetween(current, {
        ...current,
        phone: '+44 1',
        address: undefined,
        details: { allergies: ['penicillin'], emergencyContact: { name: 'Mo', phone: '1', relation: 'son' } },
      }),
    ).toEqual({
      phone: '+44 1',
      address: null,
      details: { insurance: null, emergencyContact: { name: 'Mo', phone: '1', relation: 'son' } },
    });
  });
});
