import {
  addDays,
  calendarDay,
  describeNotice,
  describeProblem,
  formatMoney,
  groupBy,
  refreshDelayMs,
  weekDays,
  weekStart,
  type AppointmentNotice,
} from '../src/format.js';
import { publicScreenAt, screenAt, screensFor } from '../src/routes.js';

describe('calendar helpers', () => {
  it('reads the calendar day in a time zone, not in UTC', () => {
    const lateEvening = new Date('2026-03-01T23:30:00Z');
    expect(calendarDay(lateEvening, 'UTC')).toBe('2026-03-01');
    expect(calendarDay(lateEvening, 'Europe/Berlin')).toBe('2026-03-02');
    expect(calendarDay(lateEvening, 'America/New_York')).toBe('2026-03-01');
  });

  it('adds days across month, year and leap-day boundaries', () => {
    expect(addDays('2028-02-28', 1)).toBe('2028-02-29');
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
  });

  it('starts weeks on Monday: a Sunday belongs to the week before', () => {
    expect(weekStart('2026-11-30')).toBe('2026-11-30'); // Monday
    expect(weekStart('2026-12-06')).toBe('2026-11-30'); // Sunday
    expect(weekStart('2026-12-07')).toBe('2026-12-07');
    expect(weekDays('2026-12-03')).toEqual([
      '2026-11-30',
      '2026-12-01',
      '2026-12-02',
      '2026-12-03',
      '2026-12-04',
      '2026-12-05',
      '2026-12-06',
    ]);
  });
});

describe('money', () => {
  it('formats integer minor units in the currency’s own number of decimals', () => {
    expect(formatMoney(6_000, 'EUR')).toBe('€60.00');
    expect(formatMoney(5, 'EUR')).toBe('€0.05');
    expect(formatMoney(1_500, 'JPY')).toBe('JP¥1,500');
  });

  it('does not throw on a missing or malformed currency code (a report row may lack one)', () => {
    expect(formatMoney(6_000, null)).toBe('6000 (minor units, currency unknown)');
    expect(formatMoney(6_000, 'euro')).toBe('6000 (minor units, currency unknown)');
  });
});

describe('problems in words', () => {
  it('uses the server’s detail as a sentence and names the fields at fault', () => {
    expect(describeProblem(422, { detail: 'an appointment that is fulfilled cannot become cancelled' })).toBe(
      'An appointment that is fulfilled cannot become cancelled.',
    );
    expect(
      describeProblem(400, { detail: 'Invalid request body', errors: [{ path: 'dateOfBirth', message: 'must not be in the future' }] }),
    ).toBe('Invalid request body. (dateOfBirth: must not be in the future)');
  });

  it('falls back to words for the status when there is no detail, never to a code alone', () => {
    expect(describeProblem(409, undefined)).toBe('That clashes with something that already exists.');
    expect(describeProblem(502, {})).toMatch(/went wrong on our side/);
    expect(describeProblem(418, {})).toBe('The request failed.');
  });
});

it('refreshes a minute before expiry, or at two thirds of a short lifetime', () => {
  expect(refreshDelayMs(900)).toBe(840_000);
  expect(refreshDelayMs(30)).toBe(20_000);
  expect(refreshDelayMs(0)).toBe(1_000);
});

it('groups items by key in first-seen order', () => {
  const grouped = groupBy([{ d: 'b' }, { d: 'a' }, { d: 'b' }], (x) => x.d);
  expect(grouped.map((g) => [g.key, g.items.length])).toEqual([
    ['b', 2],
    ['a', 1],
  ]);
});

describe('role-aware navigation', () => {
  it('shows each role its own screens, and the union for an account with several roles', () => {
    expect(screensFor(['patient'])).toEqual(['appointments', 'book', 'invoices', 'settings']);
    expect(screensFor(['doctor'])).toEqual(['day', 'week', 'my-patients']);
    expect(screensFor(['receptionist', 'admin'])).toEqual(['schedule', 'patients', 'reports', 'operations']);
    expect(screensFor(['unknown-role'])).toEqual([]);
  });

  it('sends a path to a screen the roles may see, else to the role’s home', () => {
    expect(screenAt('/app/book/', ['patient'])).toBe('book');
    expect(screenAt('/app/reports', ['patient'])).toBe('appointments');
    expect(screenAt('/app', ['admin'])).toBe('reports');
    expect(screenAt('/app/anything', [])).toBeUndefined();
  });
});

describe('the screens of mailed links and of the sign-in page', () => {
  it('reads the screen and the token from the fragment auth-service writes', () => {
    expect(publicScreenAt('#/verify?token=abc_DEF-123')).toEqual({ screen: 'verify', token: 'abc_DEF-123' });
    expect(publicScreenAt('#/reset?token=a%2Bb')).toEqual({ screen: 'reset', token: 'a+b' });
    expect(publicScreenAt('#/invite?token=t')).toEqual({ screen: 'invite', token: 't' });
    expect(publicScreenAt('#/forgot')).toEqual({ screen: 'forgot' });
    expect(publicScreenAt('#/sign-up')).toEqual({ screen: 'sign-up' });
  });

  it('leaves any other fragment to the app (the skip link’s #main, an empty one, unknown screens)', () => {
    expect(publicScreenAt('')).toBeUndefined();
    expect(publicScreenAt('#main')).toBeUndefined();
    expect(publicScreenAt('#/')).toBeUndefined();
    expect(publicScreenAt('#/settings')).toBeUndefined();
    expect(publicScreenAt('#/verify/extra?token=x')).toBeUndefined();
  });

  it('has no token when the link carries none (a reload after the token was taken out)', () => {
    expect(publicScreenAt('#/verify')).toEqual({ screen: 'verify' });
    expect(publicScreenAt('#/reset?token=')).toEqual({ screen: 'reset' });
  });
});

describe('an appointment’s mail in words', () => {
  const notice = (change: Partial<AppointmentNotice>): AppointmentNotice => ({
    id: 'n1',
    appointmentId: 'a1',
    kind: 'reminder',
    status: 'scheduled',
    dueAt: '2026-03-02T11:00:00Z',
    sentAt: null,
    createdAt: '2026-03-01T09:00:00Z',
    ...change,
  });

  it('says when a scheduled reminder is due, and when a mail was sent, in the given time zone', () => {
    expect(describeNotice(notice({}), 'UTC')).toBe('Reminder scheduled for Mon 2 Mar 11:00');
    expect(describeNotice(notice({}), 'Europe/Berlin')).toBe('Reminder scheduled for Mon 2 Mar 12:00');
    expect(describeNotice(notice({ kind: 'confirmation', status: 'sent', dueAt: null, sentAt: '2026-03-01T23:30:00Z' }), 'UTC')).toBe(
      'Confirmation sent Sun 1 Mar 23:30',
    );
  });

  it('names pending and failed mail, and leaves out skipped mail (no longer true)', () => {
    expect(describeNotice(notice({ kind: 'receipt', status: 'pending', dueAt: null }))).toBe('Receipt being sent');
    expect(describeNotice(notice({ kind: 'cancellation', status: 'failed', dueAt: null }))).toBe('Cancellation notice could not be sent');
    expect(describeNotice(notice({ status: 'skipped' }))).toBeUndefined();
  });
});
