import { z } from 'zod';
import { defineEvent, Topics } from './core.js';

/** Why auth-service asks for a mail to an account: confirm the address, reset a forgotten password, accept an invitation. */
export const ACCOUNT_MAIL_PURPOSES = ['verify-email', 'reset-password', 'invite'] as const;
export type AccountMailPurpose = (typeof ACCOUNT_MAIL_PURPOSES)[number];

/**
 * An account mail is due. Ids only — no address, no token: the topic is read by its subscribers
 * and Kafka is plaintext locally. The mailer asks auth-service for the recipient and a link
 * (`accountMailLink`) when it sends.
 */
export const accountMailRequested = defineEvent({
  aggregate: 'account',
  verb: 'mail-requested',
  topic: Topics.accounts,
  data: z.object({
    requestId: z.uuid(),
    accountId: z.uuid(),
    purpose: z.enum(ACCOUNT_MAIL_PURPOSES),
    expiresAt: z.iso.datetime(),
  }),
});
export type AccountMailRequested = z.infer<typeof accountMailRequested.data>;

/**
 * auth-service's answer to `POST /accounts/mail-requests/{requestId}/link` (notification-service
 * only): whom to write to and the link to put in the mail. Each call mints a new token, so only
 * the link of the latest call works; parsed on arrival by the mailer.
 */
export const accountMailLink = z.object({
  to: z.email(),
  displayName: z.string(),
  purpose: z.enum(ACCOUNT_MAIL_PURPOSES),
  link: z.url(),
  expiresAt: z.iso.datetime(),
});
export type AccountMailLink = z.infer<typeof accountMailLink>;
