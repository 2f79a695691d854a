import type { AccountMailLink, AccountMailPurpose } from '@caregrid/contracts';
import {
  ConflictError,
  GoneError,
  InvalidInputError,
  NotFoundError,
  ThrottledError,
  UnauthenticatedError,
  type Logger,
} from '@caregrid/platform';
import type { Pool, PoolClient } from '@caregrid/platform/postgres';
import type { MailRequest, MailRequests } from './data/mail-requests.js';
import type { RefreshTokens } from './data/refresh-tokens.js';
import type { ThrottleStore } from './data/throttle-store.js';
import type { TrustedDevices } from './data/trusted-devices.js';
import type { UsersRepository } from './data/users-repository.js';
import { isLive, mailLink } from './domain/account-mail.js';
import { checkPassword, hashPassword } from './domain/passwords.js';
import { ACCOUNT_POLICY, ADDRESS_POLICY, DEVICE_POLICY, REGISTRATION_POLICY, type BucketPolicy } from './domain/throttle.js';
import { ACCESS_TOKEN_SECONDS, newOpaqueToken, signAccessToken, type SigningKey } from './domain/tokens.js';
import { checkRolesAndLinks, isActiveAdmin, LastAdminError, PasswordChangeRequiredError, uniqueRoles, type User } from './domain/users.js';
import type { AccountMailOutbox, HandedOverLink } from './events/account-mail.js';

export type TokenPair = { accessToken: string; refreshToken: string; tokenType: 'Bearer'; expiresIn: number };
/** A sign-in's answer: the tokens and the device token this client presents next time. */
export type SignedIn = TokenPair & { deviceToken: string };

/** Where the current signing keys come from (reloaded from the secret store after a rotation). */
export type KeyRing = { current: () => SigningKey; all: () => SigningKey[] };

/** A port: the public methods of a store, so a unit test can stand in for it. */
type Port<T> = Pick<T, keyof T>;

/** What the account use cases work on: the accounts' stores, the account mail they publish, and transactions. */
export type AccountPorts = {
  /** One transaction (its client handed to the stores), or the pool for a single statement. */
  db: { pool: Pool; transaction: <T>(fn: (client: PoolClient) => Promise<T>) => Promise<T> };
  users: Port<UsersRepository>;
  refreshTokens: Port<RefreshTokens>;
  throttle: Port<ThrottleStore>;
  devices: Port<TrustedDevices>;
  mailRequests: Port<MailRequests>;
  mail: Port<AccountMailOutbox>;
};

// One answer for every token that does not work (unknown, replaced, used, expired): nothing to learn from it.
const LINK_GONE = 'This link no longer works: it was used, replaced by a newer one, or has expired. Ask for a new one.';

/**
 * The account use cases, one each: register, sign in (throttled), change the password, refresh
 * with rotation and reuse detection, sign out, the admin's changes to accounts, the operator's
 * recovery, and the account mail stories (a mail requested, its link fetched by the mailer, its
 * token redeemed once). The routes and the recovery command call these.
 */
export function accountUseCases(
  deps: AccountPorts & {
    keys: KeyRing;
    logger?: Logger;
    /** Sign-ups per client address (REGISTRATION_BURST, REGISTRATION_REFILL_SECONDS). */
    registrationLimit?: BucketPolicy;
    now?: () => Date;
  },
) {
  const { db, users, refreshTokens, throttle, devices, mailRequests, mail, keys, logger } = deps;
  const registrationLimit = deps.registrationLimit ?? REGISTRATION_POLICY;
  const now = deps.now ?? (() => new Date());

  const tokensFor = async (user: User, refreshToken: string): Promise<TokenPair> => ({
    accessToken: await signAccessToken(keys.current(), user),
    refreshToken,
    tokenType: 'Bearer',
    expiresIn: ACCESS_TOKEN_SECONDS,
  });

  /** Tokens for a proven user, and the device token: the one it presented, if known, or a new one. */
  const newSession = async (user: User, knownDeviceToken: string | undefined): Promise<SignedIn> => {
    if (knownDeviceToken) await devices.touch(knownDeviceToken);
    const tokens = await tokensFor(user, await refreshTokens.issue(db.pool, user.id));
    return { ...tokens, deviceToken: knownDeviceToken ?? (await devices.issue(user.id)) };
  };

  /** Admits the attempt, checks the password, and settles the throttle's counters; throws unless the password is right. */
  const provePassword = async (email: string, password: string, clientAddress: string, deviceToken?: string) => {
    const deviceKey = deviceToken ? await devices.keyFor(deviceToken, email) : undefined;
    const throttled = deviceKey
      ? [{ key: deviceKey, policy: DEVICE_POLICY }]
      : [
          { key: `account:${email.toLowerCase()}`, policy: ACCOUNT_POLICY },
          { key: `address:${clientAddress}`, policy: ADDRESS_POLICY },
        ];
    // Reserved before the password is checked: concurrent attempts cannot all pass the limit.
    const admission = await throttle.admit(throttled, now());
    if (!admission.admitted) {
      throw new ThrottledError('Too many failed sign-in attempts; wait a moment and try again', admission.retryAfterSeconds);
    }

    const found = await users.findCredentials(email);
    // Hash check always runs (a decoy for unknown emails): same answer and similar time either way.
    const passwordOk = await checkPassword(found?.passwordHash, password);
    if (!found || !passwordOk || found.user.disabled) {
      // The reservation stays: it was a failure.
      logger?.info({ clientAddress, knownDevice: deviceKey !== undefined }, 'sign-in failed');
      throw new UnauthenticatedError('Invalid email or password');
    }
    // Success clears the client's own counters and gives back its share of the address's.
    for (const { key, policy } of throttled) {
      if (policy === ADDRESS_POLICY) await throttle.release(key, admission.counters.get(key)!);
      else await throttle.clear(key);
    }
    return { user: found.user, deviceKey };
  };

  /** Uses a token once: 410 for any token that does not work now (unknown, another purpose's, replaced, used, expired). */
  const redeem = (token: string, purpose: AccountMailPurpose, apply: (client: PoolClient, request: MailRequest) => Promise<void>) =>
    db.transaction(async (client) => {
      const request = await mailRequests.lockByToken(client, token);
      if (!request || request.purpose !== purpose || !isLive(request, now())) throw new GoneError(LINK_GONE);
      const user = await users.lock(client, request.userId);
      if (user.disabled) throw new GoneError(LINK_GONE);
      await mailRequests.markUsed(client, request.id);
      await apply(client, request);
      return user;
    });

  const useCases = {
    /**
     * Self-service sign-up. An email that already has an account is not an error
     * the caller sees: both cases answer alike (and hash alike, so they take alike),
     * so sign-up cannot be used to find out who has an account here. A new account
     * is unconfirmed, with a confirmation mail asked for in the same transaction.
     * Throttled per client address before anything is hashed: each sign-up costs an
     * argon2id hash (19 MiB), which one address must not be able to run at will.
     */
    async register(input: { name: string; email: string; password: string }, clientAddress: string): Promise<void> {
      const withdrawal = await throttle.take(`register:${clientAddress}`, registrationLimit, now());
      if (!withdrawal.taken) throw new ThrottledError('Too many sign-ups from this address; try again later', withdrawal.retryAfterSeconds);
      const passwordHash = await hashPassword(input.password);
      const created = await mail.requesting(async (client) => {
        const user = await users.createUnlessEmailTaken(
          { ...input, passwordHash, roles: ['patient'], patientId: null, doctorId: null, emailVerified: false, mustChangePassword: false },
          client,
        );
        if (user) await mail.request(client, user.id, 'verify-email');
        return user;
      });
      if (!created) logger?.info('registration for an email that already has an account: nothing changed');
    },

    /**
     * Sign-in, throttled before the password is checked: failures delay the next
     * attempt (seconds, never a lockout; see domain/throttle.ts). A client that
     * presents the device token of this account (it signed in here before) is
     * counted on its own: the failures of other clients — a guesser at the
     * account, others behind the same address — never delay it. Everyone else is
     * counted per account and per client address.
     */
    async signIn(email: string, password: string, clientAddress: string, deviceToken?: string): Promise<SignedIn> {
      const { user, deviceKey } = await provePassword(email, password, clientAddress, deviceToken);
      // Proven, but the password is someone else's too: no token of any kind until the owner
      // replaces it (changePassword proves the same password again and signs in).
      if (user.mustChangePassword) throw new PasswordChangeRequiredError();
      return newSession(user, deviceKey ? deviceToken : undefined);
    },

    /**
     * The owner replaces their password, proving the current one (throttled like a sign-in). Every
     * session of the account ends (a change may follow a theft); the caller gets a new one.
     */
    async changePassword(
      input: { email: string; currentPassword: string; newPassword: string; deviceToken?: string },
      clientAddress: string,
    ): Promise<SignedIn> {
      if (input.newPassword === input.currentPassword) {
        throw new InvalidInputError('the new password must differ from the current one', [
          { path: 'newPassword', message: 'must differ from currentPassword' },
        ]);
      }
      const { user, deviceKey } = await provePassword(input.email, input.currentPassword, clientAddress, input.deviceToken);
      const passwordHash = await hashPassword(input.newPassword);
      await db.transaction(async (client) => {
        await users.changePassword(client, user.id, passwordHash);
        await refreshTokens.revokeUser(client, user.id);
      });
      logger?.info({ userId: user.id }, 'password changed: every other session ended');
      return newSession(user, deviceKey ? input.deviceToken : undefined);
    },

    /**
     * Rotation: each refresh token works once and yields a new one in the same
     * family. Presenting a used one means it was stolen or replayed: the whole
     * family is revoked, so the thief's and the owner's sessions both end.
     */
    async refresh(token: string): Promise<TokenPair> {
      const outcome = await db.transaction(async (client) => {
        const stored = await refreshTokens.lockForRotation(client, token);
        if (!stored || stored.revokedAt || stored.expiresAt <= now()) return { ok: false as const };
        if (stored.usedAt) {
          await refreshTokens.revokeFamily(client, stored.familyId);
          return { ok: false as const, reuse: true };
        }
        const user = await users.get(stored.userId, client);
        if (user.disabled || user.mustChangePassword) return { ok: false as const };
        await refreshTokens.markUsed(client, token);
        return { ok: true as const, user, next: await refreshTokens.issue(client, user.id, stored.familyId) };
      });
      if (!outcome.ok) {
        if (outcome.reuse) logger?.warn('refresh token reused: its family is revoked');
        throw new UnauthenticatedError('Invalid refresh token');
      }
      return tokensFor(outcome.user, outcome.next);
    },

    /** Sign out: the token's whole family is revoked; an unknown token changes nothing. */
    async signOut(token: string): Promise<void> {
      const familyId = await refreshTokens.familyOf(token);
      if (familyId) await refreshTokens.revokeFamily(db.pool, familyId);
    },

    /** The public keys that verify access tokens: the current one and those before a rotation (JWKS). */
    publicKeys() {
      return keys.all().map((key) => key.publicJwk);
    },

    /** The signed-in account. */
    account(id: string): Promise<User> {
      return users.get(id);
    },

    /**
     * An account staff create. With a password the admin hands it over, and its owner must replace
     * it before the first sign-in (POST /auth/password): the admin never holds a working session of
     * theirs. Without one, its owner is invited by mail to set one (which also confirms the address).
     * `passwordIsOwners`: the bootstrap admin, whose password the operator chose in the secret store.
     */
    async createStaff(
      input: {
        name: string;
        email: string;
        password?: string;
        roles: User['roles'];
        patientId?: string | null;
        doctorId?: string | null;
      },
      { passwordIsOwners = false } = {},
    ): Promise<User> {
      const account = { roles: uniqueRoles(input.roles), patientId: input.patientId ?? null, doctorId: input.doctorId ?? null };
      checkRolesAndLinks(account);
      const { name, email, password } = input;
      if (password !== undefined) {
        const passwordHash = await hashPassword(password);
        return users.create({ name, email, passwordHash, emailVerified: true, mustChangePassword: !passwordIsOwners, ...account });
      }
      return mail.requesting(async (client) => {
        const user = await users.create(
          { name, email, passwordHash: null, emailVerified: false, mustChangePassword: false, ...account },
          client,
        );
        await mail.request(client, user.id, 'invite');
        return user;
      });
    },

    /**
     * An admin's change to an account. Roles and links are checked only when the change sets one
     * of them, so an account from before that check can still be disabled as it is.
     */
    changeUser(id: string, change: { roles?: User['roles']; disabled?: boolean; patientId?: string | null; doctorId?: string | null }) {
      return db.transaction(async (client) => {
        // Roles and the disabled flag can take an admin away: the active admins are locked before the
        // account, so two admins disabling each other at once queue, and the second sees the first's change.
        const mayRemoveAdmin = change.roles !== undefined || change.disabled !== undefined;
        const activeAdmins = mayRemoveAdmin ? await users.lockActiveAdmins(client) : [];
        const current = await users.lock(client, id);
        const next: User = {
          ...current,
          roles: change.roles ? uniqueRoles(change.roles) : current.roles,
          disabled: change.disabled ?? current.disabled,
          patientId: change.patientId === undefined ? current.patientId : change.patientId,
          doctorId: change.doctorId === undefined ? current.doctorId : change.doctorId,
        };
        if (change.roles !== undefined || change.patientId !== undefined || change.doctorId !== undefined) checkRolesAndLinks(next);
        if (isActiveAdmin(current) && !isActiveAdmin(next) && !activeAdmins.some((adminId) => adminId !== id)) throw new LastAdminError();
        const updated = await users.update(client, next);
        // A disabled account keeps no way back in; its access tokens lapse within 15 minutes.
        if (updated.disabled) {
          await refreshTokens.revokeUser(client, id);
          await devices.revokeUser(client, id);
        }
        return updated;
      });
    },

    /**
     * The operator's way back in when no admin can sign in (`recover-admin`): the account with this
     * email becomes an active admin (its patient role and link dropped, which no admin may hold), or
     * is created as one. No password works for it until the returned link sets a new one; its
     * sessions end. The link is handed over by the operator, not mailed.
     */
    async recoverAdmin(email: string, name = 'Administrator'): Promise<{ user: User; created: boolean; link: HandedOverLink }> {
      const existing = await users.findCredentials(email);
      return db.transaction(async (client) => {
        let user: User;
        if (existing) {
          const current = await users.lock(client, existing.user.id);
          const roles = uniqueRoles([...current.roles.filter((role) => role !== 'patient'), 'admin' as const]);
          const next: User = {
            ...current,
            roles,
            patientId: null,
            doctorId: roles.includes('doctor') ? current.doctorId : null,
            disabled: false,
          };
          checkRolesAndLinks(next);
          user = await users.update(client, next);
          await users.clearPassword(client, user.id);
          await refreshTokens.revokeUser(client, user.id);
          await devices.revokeUser(client, user.id);
        } else {
          user = await users.create(
            {
              name,
              email,
              passwordHash: null,
              emailVerified: false,
              mustChangePassword: false,
              roles: ['admin'],
              patientId: null,
              doctorId: null,
            },
            client,
          );
        }
        const link = await mail.handOverLink(client, user.id, 'reset-password');
        logger?.warn({ userId: user.id, created: !existing }, 'admin account recovered by an operator');
        return { user, created: !existing, link };
      });
    },

    /**
     * First start: an admin from the secret store, unless an admin exists. An
     * account with that email that is no longer an active admin (disabled, or its
     * role taken away) was changed on purpose: it is left as it is, and the
     * service starts anyway — it must not crash-loop on the unique email, nor
     * silently undo an administrator's decision.
     */
    async bootstrapAdmin(email: string | undefined, password: string | undefined): Promise<void> {
      if (!email || !password || (await users.anyAdmin())) return;
      if (await users.findCredentials(email)) {
        logger?.error(
          { email },
          'no active admin, and the bootstrap admin account exists but is disabled or no longer an admin: left unchanged; an operator brings an admin back with the recover-admin command (npm run admin:recover)',
        );
        return;
      }
      // The operator chose this password (secret store), not an admin: it is not forced to change.
      await useCases.createStaff({ name: 'Administrator', email, password, roles: ['admin'] }, { passwordIsOwners: true });
      logger?.info({ email }, 'bootstrap admin created');
    },

    /** A signed-in, unconfirmed account asks for its confirmation mail again. */
    async resendVerification(userId: string): Promise<void> {
      const user = await users.get(userId);
      if (user.emailVerified) throw new ConflictError('this account’s email address is already confirmed');
      await mail.requesting((client) => mail.request(client, userId, 'verify-email', { cooldown: true }));
    },

    /**
     * A forgotten password. The caller learns nothing of whether the address has an account:
     * the answer is the same; only an active account gets a mail.
     */
    async requestPasswordReset(email: string): Promise<void> {
      const found = await users.findCredentials(email);
      if (!found || found.user.disabled) return;
      await mail.requesting((client) => mail.request(client, found.user.id, 'reset-password', { cooldown: true }));
    },

    /**
     * The mailer's call as it sends: whom to write to, and a link with a token minted now. The
     * token replaces the request's previous one, so a retried send never reuses an older link.
     */
    async mailLink(requestId: string): Promise<AccountMailLink> {
      const token = newOpaqueToken();
      return db.transaction(async (client) => {
        const request = await mailRequests.lock(client, requestId);
        if (!request) throw new NotFoundError('account mail request', requestId);
        const user = await users.get(request.userId, client);
        if (!isLive(request, now()) || user.disabled) throw new GoneError('This mail request was used, replaced or has expired');
        await mailRequests.setToken(client, request.id, token);
        return {
          to: user.email,
          displayName: user.name,
          purpose: request.purpose,
          link: mailLink(mail.settings.clinicAppUrl, request.purpose, token),
          expiresAt: request.expiresAt.toISOString(),
        };
      });
    },

    async verifyEmail(token: string): Promise<void> {
      await redeem(token, 'verify-email', (client, request) => users.markEmailVerified(client, request.userId));
    },

    /** A new password by a reset link: every session of the account ends (a reset may follow a theft). */
    async resetPassword(token: string, password: string): Promise<void> {
      const passwordHash = await hashPassword(password);
      const user = await redeem(token, 'reset-password', async (client, request) => {
        await users.setPassword(client, request.userId, passwordHash);
        await refreshTokens.revokeUser(client, request.userId);
        await devices.revokeUser(client, request.userId);
      });
      // The owner proved it is theirs: a lock a guesser put on the account is lifted.
      await throttle.clear(`account:${user.email.toLowerCase()}`);
      logger?.info({ userId: user.id }, 'password reset by mailed link');
    },

    async acceptInvitation(token: string, password: string): Promise<void> {
      const passwordHash = await hashPassword(password);
      await redeem(token, 'invite', (client, request) => users.setPassword(client, request.userId, passwordHash));
    },
  };
  return useCases;
}

export type AccountUseCases = ReturnType<typeof accountUseCases>;
