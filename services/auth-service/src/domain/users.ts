import { z } from 'zod';
import { PASSWORD_CHANGE_REQUIRED, ROLES } from '@caregrid/contracts';
import { DomainError, type FieldIssue } from '@caregrid/platform';

const email = z.string().trim().toLowerCase().pipe(z.email().max(254));
export const emailAddressSchema = email;
// Length over composition rules (NIST SP 800-63B); the upper bound keeps hashing cheap to refuse.
const password = z.string().min(10, 'must be at least 10 characters').max(128);

export const registrationSchema = z.strictObject({ name: z.string().trim().min(1).max(200), email, password });
/** A token from a mailed link (opaque, base64url). */
const mailToken = z.string().min(1).max(200);
export const verifyEmailSchema = z.strictObject({ token: mailToken });
export const passwordResetSchema = z.strictObject({ email });
/** Setting a password by a mailed link (reset, invitation): the same rules as at sign-up. */
export const newPasswordSchema = z.strictObject({ token: mailToken, password });
export const loginSchema = z.strictObject({
  email,
  password: z.string().min(1).max(128),
  /** From an earlier sign-in of this client: it is then throttled on its own (see Accounts.login). */
  deviceToken: z.string().min(1).max(200).optional(),
});

/** A password change proves the current one, as a sign-in does; the new one follows the sign-up rules. */
export const passwordChangeSchema = z.strictObject({
  email,
  currentPassword: z.string().min(1).max(128),
  newPassword: password,
  deviceToken: z.string().min(1).max(200).optional(),
});

/** Without a password the account is invited: its owner sets one by the mailed link. */
export const staffUserSchema = registrationSchema.extend({
  password: password.optional(),
  roles: z.array(z.enum(ROLES)).min(1).max(ROLES.length),
  patientId: z.uuid().nullable().optional(),
  doctorId: z.uuid().nullable().optional(),
});

export const userChangeSchema = z.strictObject({
  roles: z.array(z.enum(ROLES)).min(1).max(ROLES.length).optional(),
  disabled: z.boolean().optional(),
  patientId: z.uuid().nullable().optional(),
  doctorId: z.uuid().nullable().optional(),
});

export type User = {
  id: string;
  name: string;
  email: string;
  roles: (typeof ROLES)[number][];
  patientId: string | null;
  doctorId: string | null;
  disabled: boolean;
  /** Self-registered accounts start unconfirmed; staff-created and older ones count as confirmed. */
  emailVerified: boolean;
  /**
   * Its password was set by someone else (an admin creating the account): it signs in only after
   * its owner replaces it with POST /auth/password. Cleared by any password the owner chooses.
   */
  mustChangePassword: boolean;
  createdAt: string;
};

/** The roles that act for the clinic; a patient account holds none of them. */
const STAFF_ROLES: readonly User['roles'][number][] = ['admin', 'receptionist', 'doctor'];

/**
 * An account's roles and links must agree with the access model, where a role's `own` grants
 * follow its link: a patient link only with the patient role, a doctor link only with the doctor
 * role, and a patient account holds no staff role (staff grants would reach every record the
 * patient role is scoped away from, and the access log would call a patient staff). An account
 * may still lack its link: a self-registered patient is linked later, and an unlinked role owns
 * nothing (see access/check.ts).
 */
export class RolesContradictLinksError extends DomainError {
  constructor(readonly issues: FieldIssue[]) {
    super('rule-violation', 'the account’s roles and links contradict each other', { issues }, 'roles-contradict-links');
  }
}

export function checkRolesAndLinks(user: Pick<User, 'roles' | 'patientId' | 'doctorId'>): void {
  const issues: FieldIssue[] = [];
  if (user.patientId && !user.roles.includes('patient'))
    issues.push({ path: 'patientId', message: 'only a patient account links a patient record' });
  if (user.doctorId && !user.roles.includes('doctor'))
    issues.push({ path: 'doctorId', message: 'only a doctor account links a doctor record' });
  const staff = user.roles.filter((role) => STAFF_ROLES.includes(role));
  if (user.roles.includes('patient') && staff.length > 0)
    issues.push({ path: 'roles', message: `a patient account holds no staff role (${staff.join(', ')}): use a separate account` });
  if (issues.length > 0) throw new RolesContradictLinksError(issues);
}

/**
 * Refused when it would leave nobody to administer: disabling, demoting (or deleting) the last
 * active admin. A conflict with the current state, not bad input: it may pass once another admin exists.
 */
export class LastAdminError extends DomainError {
  constructor() {
    super('conflict', 'this is the last active admin: make another account admin first', {}, 'last-admin');
  }
}

/**
 * The password is right but not the owner's own: no session until they choose one. A type of its
 * own, so a client can offer the change instead of saying the sign-in failed.
 */
export class PasswordChangeRequiredError extends DomainError {
  constructor() {
    super(
      'forbidden',
      'This password was set for you: choose your own (POST /api/auth/password with email, currentPassword and newPassword), then you are signed in',
      {},
      PASSWORD_CHANGE_REQUIRED,
    );
  }
}

export const isActiveAdmin = (user: Pick<User, 'roles' | 'disabled'>): boolean => user.roles.includes('admin') && !user.disabled;

export const uniqueRoles = <T>(roles: T[]) => [...new Set(roles)];
