/**
 * Login throttling, per account and per client address. Every attempt is
 * reserved (counted as a failure) before its password is checked, so
 * concurrent attempts cannot all pass the check: once `maxFailures` attempts
 * are counted within `window`, the key is locked for `lockout` and further
 * attempts are refused unchecked. A successful sign-in gives its reservation
 * back. Pure rules; the counters live in the database so every replica sees them.
 */
export type ThrottlePolicy = { maxFailures: number; windowMs: number; lockoutMs: number };

export const ACCOUNT_POLICY: ThrottlePolicy = { maxFailures: 5, windowMs: 15 * 60_000, lockoutMs: 15 * 60_000 };
export const ADDRESS_POLICY: ThrottlePolicy = { maxFailures: 20, windowMs: 15 * 60_000, lockoutMs: 15 * 60_000 };
/** A known device (it presented the device token of the account it signs in to) is counted on its own. */
export const DEVICE_POLICY: ThrottlePolicy = { maxFailures: 5, windowMs: 15 * 60_000, lockoutMs: 15 * 60_000 };

/** Failed (or still unverified) attempts in the current window. */
export type FailureCounter = { failures: number; windowStart: Date; lockedUntil: Date | null };

/** Seconds until the key may try again, or 0 when it may try now. */
export function retryAfterSeconds(counter: FailureCounter | undefined, now: Date): number {
  if (!counter?.lockedUntil || counter.lockedUntil <= now) return 0;
  return Math.ceil((counter.lockedUntil.getTime() - now.getTime()) / 1000);
}

/** The counter after one more failure (or reservation). A served lockout starts a new window. */
export function recordFailure(counter: FailureCounter | undefined, policy: ThrottlePolicy, now: Date): FailureCounter {
  const fresh =
    !counter ||
    now.getTime() - counter.windowStart.getTime() > policy.windowMs ||
    (counter.lockedUntil !== null && counter.lockedUntil <= now);
  const failures = fresh ? 1 : counter.failures + 1;
  const windowStart = fresh ? now : counter.windowStart;
  return { failures, windowStart, lockedUntil: failures >= policy.maxFailures ? new Date(now.getTime() + policy.lockoutMs) : null };
}

/** The counter after a reserved attempt turned out to be a success: the reservation is given back. */
export function releaseReservation(counter: FailureCounter, policy: ThrottlePolicy): FailureCounter {
  const failures = Math.max(0, counter.failures - 1);
  // A lock stands only if the remaining attempts earned it (ours may have been the one that set it).
  return { ...counter, failures, lockedUntil: failures >= policy.maxFailures ? counter.lockedUntil : null };
}

export type ThrottledKey = { key: string; policy: ThrottlePolicy; counter: FailureCounter | undefined };

export type Admission = { admitted: true; counters: Map<string, FailureCounter> } | { admitted: false; retryAfterSeconds: number };

/**
 * One attempt against several keys (account and address): refused, unchanged,
 * if any key is locked; otherwise reserved on every key.
 */
export function admitAttempt(keys: ThrottledKey[], now: Date): Admission {
  const wait = Math.max(0, ...keys.map((k) => retryAfterSeconds(k.counter, now)));
  if (wait > 0) return { admitted: false, retryAfterSeconds: wait };
  return { admitted: true, counters: new Map(keys.map((k) => [k.key, recordFailure(k.counter, k.policy, now)])) };
}
