import { checkRolesAndLinks, isActiveAdmin, RolesContradictLinksError, type User } from '../../src/domain/users.js';

const LINK = '0190f0a0-0000-7000-8000-0000000000aa';
type Account = Pick<User, 'roles' | 'patientId' | 'doctorId'>;
const account = (roles: User['roles'], links: Partial<Account> = {}): Account => ({ roles, patientId: null, doctorId: null, ...links });

function issuesOf(candidate: Account): string[] {
  try {
    checkRolesAndLinks(candidate);
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(RolesContradictLinksError);
    expect(error).toMatchObject({ kind: 'rule-violation', problemSlug: 'roles-contradict-links' });
    return (error as RolesContradictLinksError).issues.map((issue) => issue.path);
  }
}

describe('roles and links', () => {
  it.each([
    [account(['patient'])],
    [account(['patient'], { patientId: LINK })],
    [account(['doctor'])],
    [account(['doctor', 'admin'], { doctorId: LINK })],
    [account(['admin', 'receptionist'])],
  ])('agree: %j', (candidate) => {
    expect(issuesOf(candidate)).toEqual([]);
  });

  it.each([
    [account(['doctor', 'patient', 'admin']), ['roles']],
    [account(['patient', 'receptionist'], { patientId: LINK }), ['roles']],
    [account(['receptionist'], { patientId: LINK }), ['patientId']],
    [account(['patient'], { doctorId: LINK }), ['doctorId']],
    [account(['admin'], { patientId: LINK, doctorId: LINK }), ['patientId', 'doctorId']],
  ])('contradict: %j (%j)', (candidate, paths) => {
    expect(issuesOf(candidate)).toEqual(paths);
  });
});

describe('an active admin', () => {
  it('holds the admin role and is not disabled', () => {
    expect(isActiveAdmin({ roles: ['admin'], disabled: false })).toBe(true);
    expect(isActiveAdmin({ roles: ['admin'], disabled: true })).toBe(false);
    expect(isActiveAdmin({ roles: ['receptionist'], disabled: false })).toBe(false);
  });
});
