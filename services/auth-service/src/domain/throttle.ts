/**
 * Login throttling, per account and per client address: after `maxFailures`
 * failed attempts within `window`, that key is locked for `lockout`. Pure
 * rules; the counters live in the database so every replica sees them.
 */
export type ThrottlePolicy = { maxFailures: number; windowMs: number; lockoutMs: number };

export const ACCOUNT_POLICY: ThrottlePolicy = { maxFailures: 5, windowMs: 15 * 60_000, lockoutMs: 15 * 60_000 };
export const ADDRESS_POLICY: ThrottlePolicy = { maxFailures: 20, windowMs: 15 * 60_000, lockoutMs: 15 * 60_000 };

export type FailureCounter = { failures: number; windowStart: Date; lockedUntil: Date | null };

/** Seconds until the key may try again, or 0 when it may try now. */
export function retryAfterSeconds(counter: FailureCounter | undefined, now: Date): number {
  if (!counter?.lockedUntil || counter.lockedUntil <= now) return 0;
  return Math.ceil((counter.lockedUntil.getTime() - now.getTime()) / 1000);
}

/** The counter after one more failure. */
export function recordFailure(counter: FailureCounter | undefined, policy: ThrottlePolicy, now: Date): FailureCounter {
  const fresh = !counter || now.getTime() - counter.windowStart.getTime() > policy.windowMs;
  const failures = fresh ? 1 : counter.failures + 1;
  const windowStart = fresh ? now : counter.windowStart;
  return { failures, windowStart, lockedUntil: failures >= policy.maxFailures ? new Date(now.getTime() + policy.lockoutMs) : null };
}
