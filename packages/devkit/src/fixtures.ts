import { randomBytes, randomUUID } from 'node:crypto';
import type { AuditEntry } from '@caregrid/contracts';
import type { Caller } from '@caregrid/platform';
import { generateSigningKey } from './policy.js';
import type { HttpResult, jsonClient } from './testing.js';

let counter = 0;

/** The password tests give the accounts they make (long enough for auth-service's rule). */
export const PASSWORD = 'correct horse battery';

/** The header that sends a request as the holder of an access token. */
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A signed-in user as a service's use cases see them (the caller a verified token makes), for unit tests of use cases. */
export const userCaller = (
  roles: ('admin' | 'receptionist' | 'doctor' | 'patient')[],
  links: { patientId?: string; doctorId?: string } = {},
): Caller => ({ kind: 'user', userId: `u-${roles.join('-')}`, roles, ...links });

let sequence = 0;

/** A name no other call in this test process gives: `label.7.1765142400000` (`label-7-…` with separator '-'). */
export const unique = (label: string, separator = '.') => `${label}${separator}${++sequence}${separator}${Date.now()}`;

/** An email address no other call in this test process gives: `label.7.1765142400000@example.org`. */
export const uniqueEmail = (label: string) => `${unique(label)}@example.org`;

/**
 * Expects an answer's status (a jest assertion, for test files only); a mismatch shows the body,
 * which says why. Returns the answer, to read on.
 */
export function expectStatus(response: HttpResult, status: number): HttpResult {
  expect({ status: response.status, body: response.body }).toMatchObject({ status });
  return response;
}

/**
 * auth-service's signing keys as its secret holds them (a JSON array of private ES256 JWKs, newest
 * first), freshly generated with the given kids: what its unit tests parse and sign with.
 */
export async function signingKeysSecret(...kids: [string, ...string[]]): Promise<string> {
  return JSON.stringify(await Promise.all(kids.map(async (kid) => ({ ...(await generateSigningKey()), kid }))));
}

/**
 * A valid audit entry: a doctor's allowed read of one patient at patient-service, fresh ids, now.
 * Tests override what they are about.
 */
export function sampleAuditEntry(overrides: Partial<AuditEntry> = {}): AuditEntry {
  return {
    id: randomUUID(),
    at: new Date().toISOString(),
    actor: { kind: 'user', userId: randomUUID(), roles: ['doctor'], doctorId: randomUUID() },
    service: 'patient-service',
    resource: 'patient',
    resourceId: null,
    action: 'read',
    patientIds: [randomUUID()],
    outcome: 'allowed',
    status: 200,
    clientAddress: null,
    requestId: randomUUID(),
    traceId: 'a'.repeat(32),
    ...overrides,
  };
}

/**
 * A valid doctor profile as an admin creates it (POST /api/doctors): unique
 * email and licence, Monday mornings on a 30-minute grid, a tariff. Tests
 * override what they are about.
 */
export function doctorProfile(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const n = `${++counter}-${Date.now()}-${randomBytes(2).toString('hex')}`;
  return {
    name: `Dr ${n}`,
    email: `dr.${n}@example.org`,
    specialization: 'cardiology',
    licenseNumber: `L-${n}`,
    yearsOfExperience: 5,
    hospitalName: 'General',
    department: 'Cardio',
    workingHours: { mon: [{ start: '09:00', end: '12:00' }] },
    slotMinutes: 30,
    timeZone: 'UTC',
    fees: { consultation: 5_000, 'follow-up': 2_500 },
    currency: 'EUR',
    ...overrides,
  };
}

/** The date (yyyy-mm-dd, UTC) of the Monday `weeksAhead` weeks after the next one (never today): doctorProfile's doctors work then. */
export function nextMonday(weeksAhead: number): string {
  const date = new Date();
  date.setUTCDate(date.getUTCDate() + ((8 - date.getUTCDay()) % 7 || 7) + 7 * weeksAhead);
  return date.toISOString().slice(0, 10);
}

/** A request as `jsonClient` sends it (through the gateway). */
type Send = ReturnType<typeof jsonClient>;

export type ReadyAccount = {
  id: string;
  email: string;
  /** The password its owner chose (the admin's no longer works). */
  password: string;
  /** The account as the admin's create answered it. */
  user: Record<string, unknown>;
  accessToken: string;
  refreshToken: string;
  deviceToken: string;
  /** `{ authorization: 'Bearer …' }` for this account's requests. */
  auth: Record<string, string>;
};

/**
 * An account an admin creates with a password (POST /api/auth/users), made ready as its owner
 * would at the first sign-in: the admin's password replaced by `password` (POST /api/auth/password),
 * whose answer is the signed-in session. Throws, with the answer, when a step is refused.
 */
export async function readyAccount(
  send: Send,
  admin: Record<string, string>,
  account: { email: string; password: string; roles: string[]; name?: string; patientId?: string; doctorId?: string },
): Promise<ReadyAccount> {
  const { password, ...rest } = account;
  const handedOver = `handed over ${randomBytes(6).toString('hex')}`;
  const created = await send('POST', '/api/auth/users', { name: account.email, ...rest, password: handedOver }, admin);
  if (created.status !== 201) throw new Error(`creating ${account.email} answered ${created.status}: ${JSON.stringify(created.body)}`);
  const changed = await send('POST', '/api/auth/password', { email: account.email, currentPassword: handedOver, newPassword: password });
  if (changed.status !== 200)
    throw new Error(`first password change of ${account.email} answered ${changed.status}: ${JSON.stringify(changed.body)}`);
  const session = changed.body as { accessToken: string; refreshToken: string; deviceToken: string };
  const user = created.body as Record<string, unknown> & { id: string };
  return { id: user.id, email: account.email, password, user, ...session, auth: { authorization: `Bearer ${session.accessToken}` } };
}
