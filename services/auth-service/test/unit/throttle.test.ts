import {
  ACCOUNT_POLICY,
  ADDRESS_POLICY,
  admitAttempt,
  recordFailure,
  releaseReservation,
  retryAfterSeconds,
  type FailureCounter,
  type ThrottlePolicy,
} from '../../src/domain/throttle.js';

const policy: ThrottlePolicy = { maxFailures: 3, windowMs: 60_000, lockoutMs: 120_000 };
const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds));

describe('login throttling rules', () => {
  it('keeps the policies: 5 per account and 20 per address within 15 minutes, locked for 15 minutes', () => {
    expect(ACCOUNT_POLICY).toEqual({ maxFailures: 5, windowMs: 900_000, lockoutMs: 900_000 });
    expect(ADDRESS_POLICY).toEqual({ maxFailures: 20, windowMs: 900_000, lockoutMs: 900_000 });
  });

  it('locks after maxFailures within the window, for lockout', () => {
    let counter = recordFailure(undefined, policy, at(0));
    counter = recordFailure(counter, policy, at(10));
    expect(retryAfterSeconds(counter, at(10))).toBe(0);
    counter = recordFailure(counter, policy, at(20));
    expect(counter.failures).toBe(3);
    expect(retryAfterSeconds(counter, at(20))).toBe(120);
    expect(retryAfterSeconds(counter, at(139))).toBe(1);
    expect(retryAfterSeconds(counter, at(140))).toBe(0);
  });

  it('starts a new window when the old one has passed', () => {
    const old = recordFailure(recordFailure(undefined, policy, at(0)), policy, at(1));
    const fresh = recordFailure(old, policy, at(62));
    expect(fresh).toEqual({ failures: 1, windowStart: at(62), lockedUntil: null });
  });

  it('starts a new window once a lockout is served, even if the window is longer than the lockout', () => {
    const long: ThrottlePolicy = { maxFailures: 2, windowMs: 600_000, lockoutMs: 60_000 };
    const locked = recordFailure(recordFailure(undefined, long, at(0)), long, at(1));
    expect(retryAfterSeconds(locked, at(1))).toBe(60);
    expect(recordFailure(locked, long, at(61))).toEqual({ failures: 1, windowStart: at(61), lockedUntil: null });
  });
});

describe('admitting an attempt (reserved before the password is checked)', () => {
  const keys = (account: FailureCounter | undefined, address: FailureCounter | undefined) => [
    { key: 'account:a', policy, counter: account },
    { key: 'address:x', policy: { ...policy, maxFailures: 10 }, counter: address },
  ];

  it('reserves on every key, and the attempt that reaches the limit sets the lock', () => {
    let account: FailureCounter | undefined;
    const outcomes: boolean[] = [];
    for (let i = 0; i < 6; i++) {
      const admission = admitAttempt(keys(account, undefined), at(i));
      outcomes.push(admission.admitted);
      if (admission.admitted) account = admission.counters.get('account:a');
    }
    // Attempts 1–3 pass (the third sets the lock), the rest are refused without being counted.
    expect(outcomes).toEqual([true, true, true, false, false, false]);
    expect(account).toMatchObject({ failures: 3, lockedUntil: new Date(at(2).getTime() + 120_000) });
  });

  it('refuses when any key is locked, with the longest wait, and changes nothing', () => {
    const accountLocked = { failures: 3, windowStart: at(0), lockedUntil: at(100) };
    const addressLocked = { failures: 10, windowStart: at(0), lockedUntil: at(200) };
    expect(admitAttempt(keys(accountLocked, undefined), at(50))).toEqual({ admitted: false, retryAfterSeconds: 50 });
    expect(admitAttempt(keys(undefined, addressLocked), at(50))).toEqual({ admitted: false, retryAfterSeconds: 150 });
    expect(admitAttempt(keys(accountLocked, addressLocked), at(50))).toEqual({ admitted: false, retryAfterSeconds: 150 });
  });

  it('a success gives its reservation back, and lifts a lock only its own reservation set', () => {
    const reservedLast = { failures: 3, windowStart: at(0), lockedUntil: at(120) };
    expect(releaseReservation(reservedLast, policy)).toEqual({ failures: 2, windowStart: at(0), lockedUntil: null });
    // A concurrent attempt reserved after ours: the lock is still earned by the others.
    const overLimit = { failures: 4, windowStart: at(0), lockedUntil: at(120) };
    expect(releaseReservation(overLimit, policy)).toEqual({ failures: 3, windowStart: at(0), lockedUntil: at(120) });
    expect(releaseReservation({ failures: 0, windowStart: at(0), lockedUntil: null }, policy).failures).toBe(0);
  });
});
