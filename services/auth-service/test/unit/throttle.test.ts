import {
  ACCOUNT_POLICY,
  ADDRESS_POLICY,
  admitAttempt,
  delayMs,
  mostAttemptsWithin,
  recordFailure,
  releaseReservation,
  retryAfterSeconds,
  takeToken,
  type FailureCounter,
  type ThrottlePolicy,
} from '../../src/domain/throttle.js';

const policy: ThrottlePolicy = { freeFailures: 2, baseDelayMs: 1000, maxDelayMs: 5000, forgetAfterMs: 60_000 };
const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds));

describe('sign-in delays', () => {
  it('keeps the policies docs/authentication.md states: 5 free failures, then waits doubling from 1 s to 5 s (address) and 30 s (account)', () => {
    expect(ADDRESS_POLICY).toEqual({ freeFailures: 5, baseDelayMs: 1000, maxDelayMs: 5000, forgetAfterMs: 900_000 });
    expect(ACCOUNT_POLICY).toEqual({ freeFailures: 5, baseDelayMs: 1000, maxDelayMs: 30_000, forgetAfterMs: 900_000 });
    expect([5, 6, 7, 8, 9, 25, 1000].map((n) => delayMs(n, ADDRESS_POLICY))).toEqual([0, 1000, 2000, 4000, 5000, 5000, 5000]);
    expect([6, 10, 11, 12, 1000].map((n) => delayMs(n, ACCOUNT_POLICY))).toEqual([1000, 16_000, 30_000, 30_000, 30_000]);
  });

  it('never locks out: after any number of failures the next attempt waits at most the cap', () => {
    let counter: FailureCounter | undefined;
    for (let i = 0; i < 100; i++) counter = recordFailure(counter, policy, at(10));
    expect(counter!.failures).toBe(100);
    expect(retryAfterSeconds(counter, at(10))).toBe(5);
    expect(retryAfterSeconds(counter, at(15))).toBe(0);
  });

  it('waits grow with each failure beyond the free ones', () => {
    let counter = recordFailure(undefined, policy, at(0));
    counter = recordFailure(counter, policy, at(0));
    expect(retryAfterSeconds(counter, at(0))).toBe(0);
    counter = recordFailure(counter, policy, at(0));
    expect(retryAfterSeconds(counter, at(0))).toBe(1);
    counter = recordFailure(counter, policy, at(1));
    expect(retryAfterSeconds(counter, at(1))).toBe(2);
    counter = recordFailure(counter, policy, at(3));
    expect(retryAfterSeconds(counter, at(3))).toBe(4);
  });

  it('forgets the failures of a key that has been quiet for forgetAfter', () => {
    const busy = recordFailure(recordFailure(recordFailure(undefined, policy, at(0)), policy, at(1)), policy, at(2));
    expect(recordFailure(busy, policy, at(62))).toEqual({ failures: 4, lastFailureAt: at(62), nextAttemptAt: at(64) });
    expect(recordFailure(busy, policy, at(63))).toEqual({ failures: 1, lastFailureAt: at(63), nextAttemptAt: null });
  });

  it('states the rate of a spray: the free attempts at once, then 1, 2, 4, 5, 5 … s apart', () => {
    expect(mostAttemptsWithin(0, policy)).toBe(3);
    expect(mostAttemptsWithin(1, policy)).toBe(4);
    expect(mostAttemptsWithin(7, policy)).toBe(6);
    expect(mostAttemptsWithin(12, policy)).toBe(7);
    expect(mostAttemptsWithin(3600, ADDRESS_POLICY)).toBe(6 + 3 + Math.floor((3600 - 7) / 5));
  });
});

describe('admitting an attempt (reserved before the password is checked)', () => {
  const keys = (account: FailureCounter | undefined, address: FailureCounter | undefined) => [
    { key: 'account:a', policy, counter: account },
    { key: 'address:x', policy: { ...policy, freeFailures: 10 }, counter: address },
  ];

  it('reserves on every key, and the reservation past the free ones sets the wait for the next attempt', () => {
    let account: FailureCounter | undefined;
    const outcomes: (true | number)[] = [];
    for (let i = 0; i < 6; i++) {
      const admission = admitAttempt(keys(account, undefined), at(0));
      outcomes.push(admission.admitted || admission.retryAfterSeconds);
      if (admission.admitted) account = admission.counters.get('account:a');
    }
    // Attempts 1–3 pass at once (the third sets a 1 s wait); the rest are refused without being counted.
    expect(outcomes).toEqual([true, true, true, 1, 1, 1]);
    expect(account).toMatchObject({ failures: 3, nextAttemptAt: at(1) });
    expect(admitAttempt(keys(account, undefined), at(1)).admitted).toBe(true);
  });

  it('refuses while any key must wait, with the longest wait, and changes nothing', () => {
    const accountWaits = { failures: 3, lastFailureAt: at(0), nextAttemptAt: at(3) };
    const addressWaits = { failures: 12, lastFailureAt: at(0), nextAttemptAt: at(5) };
    expect(admitAttempt(keys(accountWaits, undefined), at(1))).toEqual({ admitted: false, retryAfterSeconds: 2 });
    expect(admitAttempt(keys(undefined, addressWaits), at(1))).toEqual({ admitted: false, retryAfterSeconds: 4 });
    expect(admitAttempt(keys(accountWaits, addressWaits), at(1))).toEqual({ admitted: false, retryAfterSeconds: 4 });
  });

  it('a success gives its reservation back, and lifts the wait it set unless another attempt was reserved since', () => {
    const before = { failures: 8, lastFailureAt: at(0), nextAttemptAt: at(4) };
    const ours = recordFailure(before, policy, at(5));
    expect(ours).toEqual({ failures: 9, lastFailureAt: at(5), nextAttemptAt: at(10) });
    expect(releaseReservation(ours, ours)).toEqual({ failures: 8, lastFailureAt: at(5), nextAttemptAt: null });
    // Our check outlasted our wait and another attempt was reserved: its wait stands.
    const theirs = recordFailure(ours, policy, at(11));
    expect(releaseReservation(theirs, ours)).toEqual({ failures: 9, lastFailureAt: at(11), nextAttemptAt: at(16) });
    const empty = { failures: 0, lastFailureAt: at(0), nextAttemptAt: null };
    expect(releaseReservation(empty, empty).failures).toBe(0);
  });
});

describe('sign-up token bucket', () => {
  const bucketPolicy = { capacity: 3, refillMs: 60_000 };

  it('allows a burst of capacity, then one per refill interval, saying how long to wait', () => {
    let bucket;
    const outcomes: (true | number)[] = [];
    for (let i = 0; i < 4; i++) {
      const withdrawal = takeToken(bucket, bucketPolicy, at(0));
      outcomes.push(withdrawal.taken || withdrawal.retryAfterSeconds);
      if (withdrawal.taken) bucket = withdrawal.bucket;
    }
    expect(outcomes).toEqual([true, true, true, 60]);
    expect(takeToken(bucket, bucketPolicy, at(45))).toEqual({ taken: false, retryAfterSeconds: 15 });
    const refilled = takeToken(bucket, bucketPolicy, at(60));
    expect(refilled).toEqual({ taken: true, bucket: { tokens: 0, updatedAt: at(60) } });
  });

  it('never holds more than its capacity, however long it was idle', () => {
    const idle = { tokens: 0, updatedAt: at(0) };
    const later = new Date(at(0).getTime() + 24 * 3600_000);
    expect(takeToken(idle, bucketPolicy, later)).toEqual({ taken: true, bucket: { tokens: 2, updatedAt: later } });
  });
});
