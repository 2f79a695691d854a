import { z } from 'zod';
import { ROLES } from '@caregrid/contracts';
import { InvalidInputError } from '@caregrid/platform';

const email = z.string().trim().toLowerCase().pipe(z.email().max(254));
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
  createdAt: string;
};

/** Links must match roles: a patient link only with the patient role, a doctor link only with doctor. */
export function checkLinks(user: Pick<User, 'roles' | 'patientId' | 'doctorId'>): void {
  const issues = [];
  if (user.patientId && !user.roles.includes('patient'))
    issues.push({ path: 'patientId', message: 'only a patient account links a patient record' });
  if (user.doctorId && !user.roles.includes('doctor'))
    issues.push({ path: 'doctorId', message: 'only a doctor account links a doctor record' });
  if (issues.length > 0) throw new InvalidInputError('account links do not match its roles', issues);
}

export const uniqueRoles = <T>(roles: T[]) => [...new Set(roles)];
