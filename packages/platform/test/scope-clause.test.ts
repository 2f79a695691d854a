import type { Role } from '@caregrid/contracts';
import { narrow, scopeLinks, type Caller, type Scope } from '../src/access/check.js';
import { ACCESS_MATRIX, type Matrix } from '../src/access/model.js';
import { recordScope, scopeClause, type ScopeColumns } from '../src/data/scope-clause.js';

const user = (roles: Role[], links: { patientId?: string; doctorId?: string } = {}): Caller => ({
  kind: 'user',
  userId: `u-${roles.join('-')}`,
  roles,
  ...links,
});

const careTeam = (ids: string) => `patient_id IN (SELECT patient_id FROM care WHERE doctor_id = ANY(${ids}))`;
const columns: ScopeColumns = { patientId: 'patient_id', doctorId: 'doctor_id', userId: 'user_id', careTeamOf: careTeam };
const appointments = recordScope('appointment', columns);

/** The matrix with one cell changed. */
function withGrant(resource: 'appointment' | 'invoice', action: 'list', principal: Role, grant: 'any' | 'own' | 'care'): Matrix {
  const matrix = structuredClone(ACCESS_MATRIX);
  (matrix[resource][action] as Record<string, string>)[principal] = grant;
  return matrix;
}

describe('scopeClause: a scope as a PostgreSQL condition', () => {
  it('all: no condition and no parameters', () => {
    expect(scopeClause({ all: true, anyOf: [] }, appointments, 4)).toEqual({ sql: 'TRUE', params: [] });
    expect(scopeClause(narrow(user(['receptionist']), 'appointment'), appointments, 1)).toEqual({ sql: 'TRUE', params: [] });
  });

  it('nothing (an unlinked patient): matches no row', () => {
    expect(scopeClause(narrow(user(['patient']), 'appointment'), appointments, 1)).toEqual({ sql: 'FALSE', params: [] });
  });

  it('own: the link column against the caller ids, numbered from `first`', () => {
    expect(scopeClause(narrow(user(['patient'], { patientId: 'p1' }), 'appointment'), appointments, 4)).toEqual({
      sql: '(patient_id = ANY($4::uuid[]))',
      params: [['p1']],
    });
    expect(scopeClause(narrow(user(['doctor'], { doctorId: 'd1' }), 'appointment'), appointments, 1)).toEqual({
      sql: '(doctor_id = ANY($1::uuid[]))',
      params: [['d1']],
    });
  });

  it('own by several roles: either link, one parameter each', () => {
    const both = user(['patient', 'doctor'], { patientId: 'p1', doctorId: 'd1' });
    expect(scopeClause(narrow(both, 'appointment'), appointments, 2)).toEqual({
      sql: '(patient_id = ANY($2::uuid[]) OR doctor_id = ANY($3::uuid[]))',
      params: [['p1'], ['d1']],
    });
  });

  it('care: the care-team condition with the doctor ids; with own beside it, either', () => {
    const scope: Scope = { all: false, anyOf: [{ careTeamOf: 'd1' }, { patientId: 'p1' }, { careTeamOf: 'd2' }] };
    expect(scopeClause(scope, appointments, 1)).toEqual({
      sql: `(patient_id = ANY($1::uuid[]) OR ${careTeam('$2::uuid[]')})`,
      params: [['p1'], ['d1', 'd2']],
    });
    expect(scopeClause(narrow(user(['doctor'], { doctorId: 'd1' }), 'patient'), recordScope('patient', columns), 3)).toEqual({
      sql: `(${careTeam('$3::uuid[]')})`,
      params: [['d1']],
    });
  });

  it('a link the record kind has no column for fails on use rather than matching nothing', () => {
    const ownOnly = { resource: 'appointment' as const, columns: { patientId: 'patient_id', doctorId: 'doctor_id' } };
    expect(() => scopeClause({ all: false, anyOf: [{ careTeamOf: 'd1' }] }, ownOnly, 1)).toThrow(/careTeamOf/);
    // `all` and nothing need no column.
    expect(scopeClause({ all: true, anyOf: [] }, ownOnly, 1).sql).toBe('TRUE');
  });
});

describe('recordScope: the declaration is checked against the access model at start', () => {
  it('the links the model scopes each resource by', () => {
    expect(scopeLinks('patient')).toEqual(['patientId', 'careTeamOf']);
    expect(scopeLinks('appointment')).toEqual(['patientId', 'doctorId']);
    expect(scopeLinks('invoice')).toEqual(['patientId', 'doctorId']);
    expect(scopeLinks('account')).toEqual(['userId']);
    expect(scopeLinks('report')).toEqual([]);
    expect(scopeLinks('invoice', withGrant('invoice', 'list', 'doctor', 'care'))).toEqual(['patientId', 'doctorId', 'careTeamOf']);
  });

  it('a record kind without a column for a link the model uses fails at its declaration', () => {
    const ownOnly = { patientId: 'patient_id', doctorId: 'doctor_id' };
    expect(() => recordScope('invoice', ownOnly)).not.toThrow();
    expect(() => recordScope('invoice', ownOnly, withGrant('invoice', 'list', 'doctor', 'care'))).toThrow(
      'the access model scopes invoice records by careTeamOf, which their table has no column for',
    );
    expect(() => recordScope('patient', { patientId: 'id' })).toThrow(/careTeamOf/);
  });
});
