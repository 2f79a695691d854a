import { parseSearch } from '@caregrid/fhir';
import { patientFilterOf } from '../../src/http/fhir-routes.js';

const filterOf = (query: Record<string, string | string[]>) => patientFilterOf(parseSearch('Patient', query));

describe('a FHIR Patient search as the repository’s filter', () => {
  it('maps identifier systems to ours: the patient id, the insurance policy, or either', () => {
    const id = '0190f0a0-0000-7000-8000-00000000000a';
    expect(filterOf({ identifier: `urn:caregrid:patient|${id}` }).identifier).toEqual({ system: 'id', value: id });
    expect(filterOf({ identifier: 'urn:caregrid:insurance-policy|P-1' }).identifier).toEqual({ system: 'insurance-policy', value: 'P-1' });
    expect(filterOf({ identifier: 'P-1' }).identifier).toEqual({ value: 'P-1' });
  });

  it('turns birthdate bounds into born-from (inclusive) and born-before (exclusive) days', () => {
    expect(filterOf({ birthdate: '1984' })).toMatchObject({ bornFrom: '1984-01-01', bornBefore: '1985-01-01' });
    expect(filterOf({ birthdate: ['ge1990-03', 'lt2000-01-01'], name: 'ann' })).toMatchObject({
      q: 'ann',
      bornFrom: '1990-03-01',
      bornBefore: '2000-01-01',
    });
  });
});
