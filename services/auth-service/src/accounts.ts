import { InvalidInputError, ThrottledError, UnauthenticatedError, type Logger } from '@caregrid/platform';
import { inTransaction, type Pool } from '@caregrid/platform/postgres';
import type { AccountMail, HandedOverLink } from './account-mail.js';
import { RefreshTokens } from './data/refresh-tokens.js';
import { ThrottleStore } from './data/throttle-store.js';
import { TrustedDevices } from './data/trusted-devices.js';
import { UsersRepository } from './data/users-repository.js';
import { checkPassword, hashPassword } from './domain/passwords.js';
import { ACCOUNT_POLICY, ADDRESS_POLICY, DEVICE_POLICY, REGISTRATION_POLICY, type BucketPolicy } from './domain/throttle.js';
import { ACCESS_TOKEN_SECONDS, signAccessToken, type SigningKey } from './domain/tokens.js';
import { checkRolesAndLinks, isActiveAdmin, LastAdminError, PasswordChangeRequiredError, uniqueRoles, type User } from './domain/users.js';

export type TokenPair = { accessToken: string; refreshToken: string; tokenType: 'Bearer'; expiresIn: number };
/** A sign-in's answer: the tokens and the device token this client presents next time. */
export type SignedIn = TokenPair & { deviceToken: string };

/** Where the current signing keys come from (reloaded from the secret store after a rotation). */
export type KeyRing = { current: () => SigningKey; all: () => SigningKey[] };

/**
 * The account stories: register, sign in (throttled), refresh with rotation
 * and reuse detection, sign out, and the admin's changes to accounts.
 */
export class Accounts {
  private readonly users: UsersRepository;
  private readonly refreshTokens: RefreshTokens;
  private readonly throttle: ThrottleStore;
  private readonly devices: TrustedDevices;

  constructor(
    private readonly pool: Pool,
    private readonly keys: KeyRing,
    private readonly mail: AccountMail,
    private readonly logger?: Logger,
    /** Sign-ups per client address (REGISTRATION_BURST, REGISTRATION_REFILL_SECONDS). */
    private readonly registrationLimit: BucketPolicy = REGISTRATION_POLICY,
  ) {
    this.users = new UsersRepository(pool);
    this.refreshTokens = new RefreshTokens(pool);
    this.throttle = new ThrottleStore(pool);
    this.devices = new TrustedDevices(pool);
  }

  /**
   * Self-service sign-up. An email that already has an account is not an error
   * the caller sees: both cases answer alike (and hash alike, so they take alike),
   * so sign-up cannot be used to find out who has an account here. A new account
   * is unconfirmed, with a confirmation mail asked for in the same transaction.
   * Throttled per client address before anything is hashed: each sign-up costs an
   * argon2id hash (19 MiB), which one address must not be able to run at will.
   */
  async register(input: { name: string; email: string; password: string }, clientAddress: string): Promise<void> {
    const withdrawal = await this.throttle.take(`register:${clientAddress}`, this.registrationLimit, new Date());
    if (!withdrawal.taken) throw new ThrottledError('Too many sign-ups from this address; try again later', withdrawal.retryAfterSeconds);
    const passwordHash = await hashPassword(input.password);
    const created = await this.mail.requesting(async (client) => {
      const user = await this.users.createUnlessEmailTaken(
        { ...input, passwordHash, roles: ['patient'], patientId: null, doctorId: null, emailVerified: false, mustChangePassword: false },
        client,
      );
      if (user) await this.mail.request(client, user.id, 'verify-email');
      return user;
    });
    if (!created) this.logger?.info('registration for an email that already has an account: nothing changed');
  }

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
  ) {
    const account = { roles: uniqueRoles(input.roles), patientId: input.patientId ?? null, doctorId: input.doctorId ?? null };
    checkRolesAndLinks(account);
    const { name, email, password } = input;
    if (password !== undefined) {
      const passwordHash = await hashPassword(password);
      return this.users.create({ name, email, passwordHash, emailVerified: true, mustChangePassword: !passwordIsOwners, ...account });
    }
    return this.mail.requesting(async (client) => {
      const user = await this.users.create(
        { name, email, passwordHash: null, emailVerified: false, mustChangePassword: false, ...account },
        client,
      );
      await this.mail.request(client, user.id, 'invite');
      return user;
    });
  }

  /**
   * An admin's change to an account. Roles and links are checked only when the change sets one
   * of them, so an account from before that check can still be disabled as it is.
   */
  async changeUser(id: string, change: { roles?: User['roles']; disabled?: boolean; patientId?: string | null; doctorId?: string | null }) {
    return inTransaction(this.pool, async (client) => {
      // Roles and the disabled flag can take an admin away: the active admins are locked before the
      // account, so two admins disabling each other at once queue, and the second sees the first's change.
      const mayRemoveAdmin = change.roles !== undefined || change.disabled !== undefined;
      const activeAdmins = mayRemoveAdmin ? await this.users.lockActiveAdmins(client) : [];
      const current = await this.users.lock(client, id);
      const next: User = {
        ...current,
        roles: change.roles ? uniqueRoles(change.roles) : current.roles,
        disabled: change.disabled ?? current.disabled,
        patientId: change.patientId === undefined ? current.patientId : change.patientId,
        doctorId: change.doctorId === undefined ? current.doctorId : change.doctorId,
      };
      if (change.roles !== undefined || change.patientId !== undefined || change.doctorId !== undefined) checkRolesAndLinks(next);
      if (isActiveAdmin(current) && !isActiveAdmin(next) && !activeAdmins.some((adminId) => adminId !== id)) throw new LastAdminError();
      const updated = await this.users.update(client, next);
      // A disabled account keeps no way back in; its access tokens lapse within 15 minutes.
      if (updated.disabled) {
        await this.refreshTokens.revokeUser(client, id);
        await this.devices.revokeUser(client, id);
      }
      return updated;
    });
  }

  /**
   * The operator's way back in when no admin can sign in (`recover-admin`): the account with this
   * email becomes an active admin (its patient role and link dropped, which no admin may hold), or
   * is created as one. No password works for it until the returned link sets a new one; its
   * sessions end. The link is handed over by the operator, not mailed.
   */
  async recoverAdmin(email: string, name = 'Administrator'): Promise<{ user: User; created: boolean; link: HandedOverLink }> {
    const existing = await this.users.findCredentials(email);
    return inTransaction(this.pool, async (client) => {
      let user: User;
      if (existing) {
        const current = await this.users.lock(client, existing.user.id);
        const roles = uniqueRoles([...current.roles.filter((role) => role !== 'patient'), 'admin' as const]);
        const next: User = {
          ...current,
          roles,
          patientId: null,
          doctorId: roles.includes('doctor') ? current.doctorId : null,
          disabled: false,
        };
        checkRolesAndLinks(next);
        user = await this.users.update(client, next);
        await this.users.clearPassword(client, user.id);
        await this.refreshTokens.revokeUser(client, user.id);
        await this.devices.revokeUser(client, user.id);
      } else {
        user = await this.users.create(
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
      const link = await this.mail.handOverLink(client, user.id, 'reset-password');
      this.logger?.warn({ userId: user.id, created: !existing }, 'admin account recovered by an operator');
      return { user, created: !existing, link };
    });
  }

  get(id: string): Promise<User> {
    return this.users.get(id);
  }

  /**
   * Sign-in, throttled before the password is checked: failures delay the next
   * attempt (seconds, never a lockout; see domain/throttle.ts). A client that
   * presents the device token of this account (it signed in here before) is
   * counted on its own: the failures of other clients — a guesser at the
   * account, others behind the same address — never delay it. Everyone else is
   * counted per account and per client address.
   */
  async login(email: string, password: string, clientAddress: string, deviceToken?: string): Promise<SignedIn> {
    const { user, deviceKey } = await this.provePassword(email, password, clientAddress, deviceToken);
    // Proven, but the password is someone else's too: no token of any kind until the owner
    // replaces it (changePassword proves the same password again and signs in).
    if (user.mustChangePassword) throw new PasswordChangeRequiredError();
    return this.newSession(user, deviceKey ? deviceToken : undefined);
  }

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
    const { user, deviceKey } = await this.provePassword(input.email, input.currentPassword, clientAddress, input.deviceToken);
    const passwordHash = await hashPassword(input.newPassword);
    await inTransaction(this.pool, async (client) => {
      await this.users.changePassword(client, user.id, passwordHash);
      await this.refreshTokens.revokeUser(client, user.id);
    });
    this.logger?.info({ userId: user.id }, 'password changed: every other session ended');
    return this.newSession(user, deviceKey ? input.deviceToken : undefined);
  }

  /** Admits the attempt, checks the password, and settles the throttle's counters; throws unless the password is right. */
  private async provePassword(email: string, password: string, clientAddress: string, deviceToken?: string) {
    const deviceKey = deviceToken ? await this.devices.keyFor(deviceToken, email) : undefined;
    const keys = deviceKey
      ? [{ key: deviceKey, policy: DEVICE_POLICY }]
      : [
          { key: `account:${email.toLowerCase()}`, policy: ACCOUNT_POLICY },
          { key: `address:${clientAddress}`, policy: ADDRESS_POLICY },
        ];
    // Reserved before the password is checked: concurrent attempts cannot all pass the limit.
    const admission = await this.throttle.admit(keys, new Date());
    if (!admission.admitted) {
      throw new ThrottledError('Too many failed sign-in attempts; wait a moment and try again', admission.retryAfterSeconds);
    }

    const found = await this.users.findCredentials(email);
    // Hash check always runs (a decoy for unknown emails): same answer and similar time either way.
    const passwordOk = await checkPassword(found?.passwordHash, password);
    if (!found || !passwordOk || found.user.disabled) {
      // The reservation stays: it was a failure.
      this.logger?.info({ clientAddress, knownDevice: deviceKey !== undefined }, 'sign-in failed');
      throw new UnauthenticatedError('Invalid email or password');
    }
    // Success clears the client's own counters and gives back its share of the address's.
    for (const { key, policy } of keys) {
      if (policy === ADDRESS_POLICY) await this.throttle.release(key, admission.counters.get(key)!);
      else await this.throttle.clear(key);
    }
    return { user: found.user, deviceKey };
  }

  /** Tokens for a proven user, and the device token: the one it presented, if known, or a new one. */
  private async newSession(user: User, knownDeviceToken: string | undefined): Promise<SignedIn> {
    if (knownDeviceToken) await this.devices.touch(knownDeviceToken);
    const tokens = await this.tokensFor(user, await this.refreshTokens.issue(this.pool, user.id));
    return { ...tokens, deviceToken: knownDeviceToken ?? (await this.devices.issue(user.id)) };
  }

  /**
   * Rotation: each refresh token works once and yields a new one in the same
   * family. Presenting a used one means it was stolen or replayed: the whole
   * family is revoked, so the thief's and the owner's sessions both end.
   */
  async refresh(token: string): Promise<TokenPair> {
    const outcome = await inTransaction(this.pool, async (client) => {
      const stored = await this.refreshTokens.lockForRotation(client, token);
      if (!stored || stored.revokedAt || stored.expiresAt <= new Date()) return { ok: false as const };
      if (stored.usedAt) {
        await this.refreshTokens.revokeFamily(client, stored.familyId);
        return { ok: false as const, reuse: true };
      }
      const user = await this.users.get(stored.userId, client);
      if (user.disabled || user.mustChangePassword) return { ok: false as const };
      await this.refreshTokens.markUsed(client, token);
      return { ok: true as const, user, next: await this.refreshTokens.issue(client, user.id, stored.familyId) };
    });
    if (!outcome.ok) {
      if (outcome.reuse) this.logger?.warn('refresh token reused: its family is revoked');
      throw new UnauthenticatedError('Invalid refresh token');
    }
    return this.tokensFor(outcome.user, outcome.next);
  }

  async logout(token: string): Promise<void> {
    const familyId = await this.refreshTokens.familyOf(token);
    if (familyId) await this.refreshTokens.revokeFamily(this.pool, familyId);
  }

  /**
   * First start: an admin from the secret store, unless an admin exists. An
   * account with that email that is no longer an active admin (disabled, or its
   * role taken away) was changed on purpose: it is left as it is, and the
   * service starts anyway — it must not crash-loop on the unique email, nor
   * silently undo an administrator's decision.
   */
  async bootstrapAdmin(email: string | undefined, password: string | undefined): Promise<void> {
    if (!email || !password || (await this.users.anyAdmin())) return;
    if (await this.users.findCredentials(email)) {
      this.logger?.error(
        { email },
        'no active admin, and the bootstrap admin account exists but is disabled or no longer an admin: left unchanged; an operator brings an admin back with the recover-admin command (npm run admin:recover)',
      );
      return;
    }
    // The operator chose this password (secret store), not an admin: it is not forced to change.
    await this.createStaff({ name: 'Administrator', email, password, roles: ['admin'] }, { passwordIsOwners: true });
    this.logger?.info({ email }, 'bootstrap admin created');
  }

  private async tokensFor(user: User, refreshToken: string): Promise<TokenPair> {
    return {
      accessToken: await signAccessToken(this.keys.current(), user),
      refreshToken,
      tokenType: 'Bearer',
      expiresIn: ACCESS_TOKEN_SECONDS,
    };
  }
}
