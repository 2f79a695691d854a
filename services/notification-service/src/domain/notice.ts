import { NOTICE_KINDS, NOTICE_STATUSES, type AccountMailPurpose, type NoticeKind, type NoticeStatus } from '@caregrid/contracts';

// The kinds and statuses (what each status means) are the contract's: the JSON API and FHIR read them too.
export { NOTICE_KINDS, NOTICE_STATUSES, type NoticeKind, type NoticeStatus };

/**
 * A notice: one mail about one appointment, at most one per (appointment, kind, version) however
 * often the event or the job that asks for it is delivered. Only ids and times are kept: the
 * recipient's address and name are read from their owners when the mail is written.
 */
export type Notice = {
  id: string;
  appointmentId: string;
  patientId: string;
  doctorId: string;
  kind: NoticeKind;
  version: number;
  status: NoticeStatus;
  attempts: number;
  nextAttemptAt: string | null;
  lastError: string | null;
  /** The appointment's start this notice is about (a later move makes a confirmation or reminder stale). */
  appointmentStart: string;
  /** Reminders: when the job is due. */
  dueAt: string | null;
  jobName: string | null;
  sentAt: string | null;
  createdAt: string;
  updatedAt: string;
};

/**
 * An account mail (confirm an address, reset a password, accept an invitation): one per request of
 * auth-service, its kind the request's purpose. Ids only: the recipient and the single-use link are
 * fetched from auth-service when the mail is written (a fresh link each time, so a retry's works).
 */
export type AccountNotice = Omit<
  Notice,
  'appointmentId' | 'patientId' | 'doctorId' | 'kind' | 'version' | 'appointmentStart' | 'dueAt' | 'jobName'
> & {
  requestId: string;
  accountId: string;
  kind: AccountMailPurpose;
};

/** Whatever the sender may claim: mail about an appointment or about an account. */
export type AnyNotice = Notice | AccountNotice;

export const isAccountNotice = (notice: AnyNotice): notice is AccountNotice => 'requestId' in notice;

/** What a reminder job carries: ids only, no personal data goes into the scheduler's store. */
export type ReminderJobData = { appointmentId: string; version: number };

/** `reminder-<appointment id>-<kind>`: one job per appointment, replaced when it moves. */
export const reminderJobName = (appointmentId: string) => `reminder-${appointmentId}-reminder`;

const JOB_NAME = /^reminder-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})-reminder$/;

/** The appointment a reminder job is for, or undefined for a name that is not one of ours. */
export function appointmentOfJob(name: string): string | undefined {
  return JOB_NAME.exec(name)?.[1];
}

/**
 * When to remind: `leadMs` before the start. Undefined when that moment has already passed
 * (booked or moved within the lead): the confirmation just sent names the time, and a reminder
 * right after it, or one after the start, would only be noise.
 */
export function reminderDue(start: Date, leadMs: number, now: Date): Date | undefined {
  const due = new Date(start.getTime() - leadMs);
  return due > now ? due : undefined;
}

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A duration as Dapr and Go write them (`24h`, `90m`, `1h30m`, `45s`), in milliseconds; undefined if malformed. */
export function parseDuration(text: string): number | undefined {
  if (!/^(\d+(ms|s|m|h|d))+$/.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+)(ms|s|m|h|d)/g)) total += Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
  return total;
}

export type RetryPolicy = { maxAttempts: number; firstDelayMs: number; maxDelayMs: number };

/** Exponential backoff after the n-th failed attempt (n ≥ 1): first, 2×first, 4×first … capped. */
export function retryDelayMs(attempts: number, policy: RetryPolicy): number {
  return Math.min(policy.maxDelayMs, policy.firstDelayMs * 2 ** Math.max(0, attempts - 1));
}

/**
 * How a failed send is taken, from what the mail server or the sidecar said: an SMTP 5xx reply
 * (unknown mailbox, refused content) will not change on a retry; an SMTP 4xx (451: try later),
 * an unreachable server or a sidecar failure may.
 */
export function sendFailureKind(message: string): 'permanent' | 'retryable' {
  const reply = /(?:^|[\s:])([45])\d\d[ -]/.exec(message);
  return reply?.[1] === '5' ? 'permanent' : 'retryable';
}

/** What becomes of a notice after a failed attempt (attempts counts this one). */
export function afterFailure(
  attempts: number,
  kind: 'permanent' | 'retryable',
  policy: RetryPolicy,
  now: Date,
): { status: 'failed' } | { status: 'pending'; nextAttemptAt: Date } {
  if (kind === 'permanent' || attempts >= policy.maxAttempts) return { status: 'failed' };
  return { status: 'pending', nextAttemptAt: new Date(now.getTime() + retryDelayMs(attempts, policy)) };
}
