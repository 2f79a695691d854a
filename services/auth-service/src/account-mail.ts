import { accountMailRequested, type AccountMailLink, type AccountMailPurpose } from '@caregrid/contracts';
import { ConflictError, GoneError, NotFoundError, outboxEvent, type Logger } from '@caregrid/platform';
import { enqueueEvent, inTransaction, type Pool, type PoolClient } from '@caregrid/platform/postgres';
import { MailRequests, type MailRequest } from './data/mail-requests.js';
import { RefreshTokens } from './data/refresh-tokens.js';
import { ThrottleStore } from './data/throttle-store.js';
import { TrustedDevices } from './data/trusted-devices.js';
import { UsersRepository } from './data/users-repository.js';
import { isLive, mailLink, type MailLinkLifetimes } from './domain/account-mail.js';
import { hashPassword } from './domain/passwords.js';
import { newOpaqueToken } from './domain/tokens.js';

export type AccountMailSettings = {
  lifetimes: MailLinkLifetimes;
  /** The clinic app's URL; a mailed link opens one of its screens. */
  clinicAppUrl: string;
  /** A new reset or confirmation mail for the same account no sooner than this (mail bombing). */
  cooldownSeconds: number;
};

/** A link given to someone by other means than mail, with its token. */
export type HandedOverLink = AccountMailLink & { token: string };

// One answer for every token that does not work (unknown, replaced, used, expired): nothing to learn from it.
const LINK_GONE = 'This link no longer works: it was used, replaced by a newer one, or has expired. Ask for a new one.';

/**
 * The account mail stories: a mail is requested (an outbox event with ids only), the mailer
 * fetches its recipient and a fresh link, and the link's token is redeemed once — to confirm
 * the address, set a forgotten password, or accept an invitation.
 */
export class AccountMail {
  private readonly users: UsersRepository;
  private readonly requests = new MailRequests();
  private readonly refreshTokens: RefreshTokens;
  private readonly devices: TrustedDevices;
  private readonly throttle: ThrottleStore;

  constructor(
    private readonly pool: Pool,
    private readonly settings: AccountMailSettings,
    private readonly onEventsQueued: () => void = () => undefined,
    private readonly logger?: Logger,
  ) {
    this.users = new UsersRepository(pool);
    this.refreshTokens = new RefreshTokens(pool);
    this.devices = new TrustedDevices(pool);
    this.throttle = new ThrottleStore(pool);
  }

  /**
   * Asks for a mail in the caller's transaction (the account's row locked first, so requests
   * for one account queue): supersedes the account's earlier request of this purpose and
   * queues `account.mail-requested`. With `cooldown`, nothing when one was asked for moments ago.
   */
  async request(client: PoolClient, userId: string, purpose: AccountMailPurpose, options: { cooldown?: boolean } = {}) {
    await this.users.lock(client, userId);
    if (options.cooldown) {
      const latest = await this.requests.latest(client, userId, purpose);
      if (latest && Date.now() - latest.createdAt.getTime() < this.settings.cooldownSeconds * 1000) return undefined;
    }
    const created = await this.requests.create(client, userId, purpose, this.settings.lifetimes[purpose]);
    await enqueueEvent(
      client,
      outboxEvent(accountMailRequested, userId, {
        requestId: created.id,
        accountId: userId,
        purpose,
        expiresAt: created.expiresAt.toISOString(),
      }),
    );
    return created;
  }

  /**
   * A link handed over by other means than mail (the operator's recovery command): a request of
   * this purpose (replacing the account's earlier ones) with a token minted now, in the caller's
   * transaction. No event is queued: nothing is mailed, so no mailer's fetch replaces this token.
   */
  async handOverLink(client: PoolClient, userId: string, purpose: AccountMailPurpose): Promise<HandedOverLink> {
    const user = await this.users.lock(client, userId);
    const request = await this.requests.create(client, userId, purpose, this.settings.lifetimes[purpose]);
    const token = newOpaqueToken();
    await this.requests.setToken(client, request.id, token);
    return {
      to: user.email,
      displayName: user.name,
      purpose,
      link: mailLink(this.settings.clinicAppUrl, purpose, token),
      expiresAt: request.expiresAt.toISOString(),
      token,
    };
  }

  /** Runs `fn` in a transaction and wakes the outbox relay after a commit that queued a mail. */
  async requesting<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    const result = await inTransaction(this.pool, fn);
    this.onEventsQueued();
    return result;
  }

  /** A signed-in, unconfirmed account asks for its confirmation mail again. */
  async resendVerification(userId: string): Promise<void> {
    const user = await this.users.get(userId);
    if (user.emailVerified) throw new ConflictError('this account’s email address is already confirmed');
    await this.requesting((client) => this.request(client, userId, 'verify-email', { cooldown: true }));
  }

  /**
   * A forgotten password. The caller learns nothing of whether the address has an account:
   * the answer is the same; only an active account gets a mail.
   */
  async requestPasswordReset(email: string): Promise<void> {
    const found = await this.users.findCredentials(email);
    if (!found || found.user.disabled) return;
    await this.requesting((client) => this.request(client, found.user.id, 'reset-password', { cooldown: true }));
  }

  /**
   * The mailer's call as it sends: whom to write to, and a link with a token minted now. The
   * token replaces the request's previous one, so a retried send never reuses an older link.
   */
  async link(requestId: string): Promise<AccountMailLink> {
    const token = newOpaqueToken();
    return inTransaction(this.pool, async (client) => {
      const request = await this.requests.lock(client, requestId);
      if (!request) throw new NotFoundError('account mail request', requestId);
      const user = await this.users.get(request.userId, client);
      if (!isLive(request, new Date()) || user.disabled) throw new GoneError('This mail request was used, replaced or has expired');
      await this.requests.setToken(client, request.id, token);
      return {
        to: user.email,
        displayName: user.name,
        purpose: request.purpose,
        link: mailLink(this.settings.clinicAppUrl, request.purpose, token),
        expiresAt: request.expiresAt.toISOString(),
      };
    });
  }

  async verifyEmail(token: string): Promise<void> {
    await this.redeem(token, 'verify-email', (client, request) => this.users.markEmailVerified(client, request.userId));
  }

  /** A new password by a reset link: every session of the account ends (a reset may follow a theft). */
  async resetPassword(token: string, password: string): Promise<void> {
    const passwordHash = await hashPassword(password);
    const user = await this.redeem(token, 'reset-password', async (client, request) => {
      await this.users.setPassword(client, request.userId, passwordHash);
      await this.refreshTokens.revokeUser(client, request.userId);
      await this.devices.revokeUser(client, request.userId);
    });
    // The owner proved it is theirs: a lock a guesser put on the account is lifted.
    await this.throttle.clear(`account:${user.email.toLowerCase()}`);
    this.logger?.info({ userId: user.id }, 'password reset by mailed link');
  }

  async acceptInvitation(token: string, password: string): Promise<void> {
    const passwordHash = await hashPassword(password);
    await this.redeem(token, 'invite', (client, request) => this.users.setPassword(client, request.userId, passwordHash));
  }

  /** Uses a token once: 410 for any token that does not work now (unknown, another purpose's, replaced, used, expired). */
  private async redeem(token: string, purpose: AccountMailPurpose, apply: (client: PoolClient, request: MailRequest) => Promise<void>) {
    return inTransaction(this.pool, async (client) => {
      const request = await this.requests.lockByToken(client, token);
      if (!request || request.purpose !== purpose || !isLive(request, new Date())) throw new GoneError(LINK_GONE);
      const user = await this.users.lock(client, request.userId);
      if (user.disabled) throw new GoneError(LINK_GONE);
      await this.requests.markUsed(client, request.id);
      await apply(client, request);
      return user;
    });
  }
}
