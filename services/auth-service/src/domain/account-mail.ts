import type { AccountMailPurpose } from '@caregrid/contracts';

/** How long a mailed link works, per purpose (settings; defaults: 48 h, 1 h, 7 days). */
export type MailLinkLifetimes = Record<AccountMailPurpose, number>;

export const DEFAULT_LIFETIME_SECONDS: MailLinkLifetimes = {
  'verify-email': 48 * 3600,
  'reset-password': 3600,
  invite: 7 * 24 * 3600,
};

/** The clinic app's screen that takes each purpose's token. */
const SCREENS: Record<AccountMailPurpose, string> = { 'verify-email': 'verify', 'reset-password': 'reset', invite: 'invite' };

/** The link a mail carries: the clinic app's screen for the purpose, with the token (the app routes on the fragment). */
export function mailLink(clinicAppUrl: string, purpose: AccountMailPurpose, token: string): string {
  return `${clinicAppUrl.replace(/\/+$/, '')}/#/${SCREENS[purpose]}?token=${encodeURIComponent(token)}`;
}

export type MailRequestState = { expiresAt: Date; usedAt: Date | null; supersededAt: Date | null };

/** A request's token still works: not used, not replaced by a newer request, not expired. */
export const isLive = (request: MailRequestState, now: Date): boolean =>
  request.usedAt === null && request.supersededAt === null && request.expiresAt > now;

/** A request asked for less than `cooldownSeconds` ago: no new mail of its purpose yet (mail bombing). */
export const withinCooldown = (latest: { createdAt: Date }, now: Date, cooldownSeconds: number): boolean =>
  now.getTime() - latest.createdAt.getTime() < cooldownSeconds * 1000;
