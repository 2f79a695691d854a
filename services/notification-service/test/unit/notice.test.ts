import {
  afterFailure,
  appointmentOfJob,
  parseDuration,
  reminderDue,
  reminderJobName,
  retryDelayMs,
  sendFailureKind,
} from '../../src/domain/notice.js';

const policy = { maxAttempts: 3, firstDelayMs: 1_000, maxDelayMs: 5_000 };
const id = '0195d2b4-7f3a-7c11-9a2b-3c4d5e6f7a8b';

describe('notice rules', () => {
  it('names a reminder job after its appointment, and reads the appointment back from the name only', () => {
    expect(reminderJobName(id)).toBe(`reminder-${id}-reminder`);
    expect(appointmentOfJob(reminderJobName(id))).toBe(id);
    expect(appointmentOfJob(`reminder-${id}-confirmation`)).toBeUndefined();
    expect(appointmentOfJob('reminder-not-an-id-reminder')).toBeUndefined();
  });

  it('reminds the lead before the start, and not at all when that moment has passed', () => {
    const now = new Date('2026-07-01T08:00:00Z');
    expect(reminderDue(new Date('2026-07-02T09:00:00Z'), 24 * 3_600_000, now)).toEqual(new Date('2026-07-01T09:00:00Z'));
    expect(reminderDue(new Date('2026-07-02T07:59:00Z'), 24 * 3_600_000, now)).toBeUndefined();
    expect(reminderDue(new Date('2026-07-02T08:00:00Z'), 24 * 3_600_000, now)).toBeUndefined();
  });

  it('reads durations as Go and Dapr write them', () => {
    expect(parseDuration('24h')).toBe(86_400_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('45s')).toBe(45_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('24')).toBeUndefined();
    expect(parseDuration('1.5h')).toBeUndefined();
    expect(parseDuration('')).toBeUndefined();
  });

  it('backs off exponentially up to the cap', () => {
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(n, policy))).toEqual([1_000, 2_000, 4_000, 5_000, 5_000]);
  });

  it('retries an SMTP 4xx or a failure to reach the server, and gives up at once on an SMTP 5xx', () => {
    expect(sendFailureKind('error from smtp: 451 4.7.1 Try again later')).toBe('retryable');
    expect(sendFailureKind('gomail: could not send email 1: 451 Chaos: recipient refused')).toBe('retryable');
    expect(sendFailureKind('dial tcp 127.0.0.1:11025: connect: connection refused')).toBe('retryable');
    expect(sendFailureKind('gomail: could not send email 1: 550 5.1.1 mailbox unavailable')).toBe('permanent');
    expect(sendFailureKind('binding mail is unavailable')).toBe('retryable');
  });

  it('keeps a retryable mail pending until its budget is spent, then fails it; a permanent refusal fails it at once', () => {
    const now = new Date('2026-07-01T08:00:00Z');
    expect(afterFailure(1, 'retryable', policy, now)).toEqual({ status: 'pending', nextAttemptAt: new Date('2026-07-01T08:00:01Z') });
    expect(afterFailure(2, 'retryable', policy, now)).toEqual({ status: 'pending', nextAttemptAt: new Date('2026-07-01T08:00:02Z') });
    expect(afterFailure(3, 'retryable', policy, now)).toEqual({ status: 'failed' });
    expect(afterFailure(1, 'permanent', policy, now)).toEqual({ status: 'failed' });
  });
});
