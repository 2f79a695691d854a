import { accountMailRequested, type AccountMailLink, type AccountMailPurpose } from '@caregrid/contracts';
import { outboxEvent } from '@caregrid/platform';
import { enqueueEvent, inTransaction, type Pool, type PoolClient } from '@caregrid/platform/postgres';
import { MailRequests } from '../data/mail-requests.js';
import { UsersRepository } from '../data/users-repository.js';
import { mailLink, withinCooldown, type MailLinkLifetimes } from '../domain/account-mail.js';
import { newOpaqueToken } from '../domain/tokens.js';

export type AccountMailSettings = {
  lifetimes: MailLinkLifetimes;
  /** The clinic app's URL; a mailed link opens one of its screens. */
  clinicAppUrl: string;
  /** A new reset or confirmation mail for the same account no sooner than this (mail bombing). */
  cooldownSeconds: number;
};

/** A link given to someone by other means than mail, with its token. */
export type HandedOverLink = AccountMailLink & { token: string };

/**
 * What auth-service publishes for account mail: a mail request (a row, and the outbox event
 * `account.mail-requested` with ids only, which notification-service sends from), or a link
 * handed over without mail. The use cases ask for these inside their own transactions.
 */
export class AccountMailOutbox {
  private readonly users: UsersRepository;
  private readonly requests = new MailRequests();

  constructor(
    private readonly pool: Pool,
    readonly settings: AccountMailSettings,
    private readonly onEventsQueued: () => void = () => undefined,
  ) {
    this.users = new UsersRepository(pool);
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
      if (latest && withinCooldown(latest, new Date(), this.settings.cooldownSeconds)) return undefined;
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
}
