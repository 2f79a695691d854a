/**
 * Pure helpers for dates, money and API problems: no DOM, no fetch, so they are
 * unit-tested under Node and shared by every screen.
 */

export type Problem = { type?: string; title?: string; status?: number; detail?: string; errors?: { path: string; message: string }[] };

/** YYYY-MM-DD of a moment in the browser's (or the given) time zone. */
export function calendarDay(moment: Date, timeZone?: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(moment);
  const get = (type: string) => parts.find((p) => p.type === type)!.value;
  return `${get('year')}-${get('month')}-${get('day')}`;
}

/** The day after (or `days` after) a calendar day, as a calendar day. */
export function addDays(day: string, days: number): string {
  const date = new Date(`${day}T12:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

/** Monday of the week that holds the day (weeks start on Monday, as the doctors' schedules do). */
export function weekStart(day: string): string {
  const weekday = new Date(`${day}T12:00:00Z`).getUTCDay(); // 0 = Sunday
  return addDays(day, -((weekday + 6) % 7));
}

/** The 7 calendar days of the week that holds the day, Monday first. */
export function weekDays(day: string): string[] {
  const monday = weekStart(day);
  return Array.from({ length: 7 }, (_, i) => addDays(monday, i));
}

/**
 * [from, to) instants (ISO, with offset) of local calendar days: the API's
 * window for "this day" or "this week" as the person at the screen means it.
 */
export function localWindow(firstDay: string, days = 1): { from: string; to: string } {
  const local = (day: string) => {
    const [y, m, d] = day.split('-').map(Number) as [number, number, number];
    return new Date(y, m - 1, d).toISOString();
  };
  return { from: local(firstDay), to: local(addDays(firstDay, days)) };
}

export function formatTime(iso: string, timeZone?: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit' }).format(new Date(iso));
}

export function formatDay(day: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', weekday: 'short', day: 'numeric', month: 'short' }).format(
    new Date(`${day}T12:00:00Z`),
  );
}

export const isCurrency = (code: unknown): code is string => typeof code === 'string' && /^[A-Z]{3}$/.test(code);

/** Integer minor units → "€50.00" (the API never sends floats for money); no valid currency code: the bare number, said so. */
export function formatMoney(amount: number, currency: string | null): string {
  if (!isCurrency(currency)) return `${amount} (minor units, currency unknown)`;
  const digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  return new Intl.NumberFormat('en-GB', { style: 'currency', currency }).format(amount / 10 ** digits);
}

const STATUS_WORDS: Record<number, string> = {
  400: 'Some of what you entered is not valid.',
  401: 'Your session has ended: please sign in again.',
  403: 'You are not allowed to do that.',
  404: 'That record was not found (or is not yours to see).',
  409: 'That clashes with something that already exists.',
  422: 'That is not possible right now.',
  429: 'Too many attempts: please wait a moment and try again.',
  503: 'The service is unavailable right now: please try again shortly.',
};

/**
 * What to tell a person about a problem+json answer: the server's detail
 * (already written for people), the fields it names, or words for the status.
 */
export function describeProblem(status: number, problem: Problem | undefined): string {
  const general = STATUS_WORDS[status] ?? (status >= 500 ? 'Something went wrong on our side: please try again.' : 'The request failed.');
  const detail = problem?.detail?.trim();
  const fields = (problem?.errors ?? []).map((issue) => `${issue.path}: ${issue.message}`);
  const sentence = detail ? `${detail.charAt(0).toUpperCase()}${detail.slice(1)}${/[.!?]$/.test(detail) ? '' : '.'}` : general;
  return fields.length ? `${sentence} (${fields.join('; ')})` : sentence;
}

/** Seconds before expiry at which a token is refreshed: a minute, or a third of a short lifetime. */
export function refreshDelayMs(expiresInSeconds: number): number {
  const margin = Math.min(60, expiresInSeconds / 3);
  return Math.max(1, expiresInSeconds - margin) * 1000;
}

export type Bucket<T> = { key: string; items: T[] };

/** Items grouped in first-seen order (the API already sorts by start). */
export function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Bucket<T>[] {
  const buckets = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    buckets.set(key, [...(buckets.get(key) ?? []), item]);
  }
  return [...buckets].map(([key, grouped]) => ({ key, items: grouped }));
}

/** A mail about an appointment as notification-service's ledger answers it (the fields the app shows). */
export type AppointmentNotice = {
  id: string;
  appointmentId: string;
  kind: 'confirmation' | 'reminder' | 'cancellation' | 'receipt';
  status: 'scheduled' | 'pending' | 'sent' | 'failed' | 'skipped';
  dueAt: string | null;
  sentAt: string | null;
  createdAt: string;
};

const NOTICE_NAMES: Record<AppointmentNotice['kind'], string> = {
  confirmation: 'Confirmation',
  reminder: 'Reminder',
  cancellation: 'Cancellation notice',
  receipt: 'Receipt',
};

/** "Mon 2 Mar 14:05" of an instant, in the browser's (or the given) time zone. */
export const formatMoment = (iso: string, timeZone?: string) =>
  `${formatDay(calendarDay(new Date(iso), timeZone))} ${formatTime(iso, timeZone)}`;

/**
 * A notice in words: "Reminder scheduled for Mon 2 Mar 11:00", "Confirmation sent Sun 1 Mar 14:05"…
 * Undefined for a skipped one (no longer true: the appointment moved or was cancelled), which is not shown.
 */
export function describeNotice(notice: AppointmentNotice, timeZone?: string): string | undefined {
  const name = NOTICE_NAMES[notice.kind];
  switch (notice.status) {
    case 'scheduled':
      return notice.dueAt ? `${name} scheduled for ${formatMoment(notice.dueAt, timeZone)}` : `${name} scheduled`;
    case 'pending':
      return `${name} being sent`;
    case 'sent':
      return notice.sentAt ? `${name} sent ${formatMoment(notice.sentAt, timeZone)}` : `${name} sent`;
    case 'failed':
      return `${name} could not be sent`;
    case 'skipped':
      return undefined;
  }
}
