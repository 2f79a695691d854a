/**
 * Sign-in throttling by delay, per account, per client address and per known
 * device. Nobody is locked out: a key's failures make its next attempt wait,
 * longer with each failure (doubling from `baseDelayMs`) but never longer than
 * `maxDelayMs`, so a correct user who shares an address (or an account name)
 * with a guesser waits seconds, not minutes. The wait also bounds how fast one
 * address can spray guesses at many accounts: one attempt per `maxDelayMs`.
 *
 * Every attempt is reserved (counted as a failure) before its password is
 * checked, so concurrent attempts cannot all pass while the wait is zero: the
 * reservation itself sets the wait for the next one. A successful sign-in
 * gives its reservation back. Refused attempts are not counted: retrying does
 * not prolong the wait. A key's failures are forgotten once it has been quiet
 * for `forgetAfterMs`. Pure rules; the counters live in the database so every
 * replica sees them.
 */
export type ThrottlePolicy = { freeFailures: number; baseDelayMs: number; maxDelayMs: number; forgetAfterMs: number };

const QUIET = 15 * 60_000;
/** One address: the clinic's NAT, a phone network. A few seconds at most: a correct user behind it waits no longer. */
export const ADDRESS_POLICY: ThrottlePolicy = { freeFailures: 5, baseDelayMs: 1000, maxDelayMs: 5000, forgetAfterMs: QUIET };
/** One account, from anywhere: guessing one password from many addresses gets two tries a minute at most. */
export const ACCOUNT_POLICY: ThrottlePolicy = { freeFailures: 5, baseDelayMs: 1000, maxDelayMs: 30_000, forgetAfterMs: QUIET };
/** A known device (it presented the device token of the account it signs in to) is counted on its own. */
export const DEVICE_POLICY: ThrottlePolicy = { freeFailures: 5, baseDelayMs: 1000, maxDelayMs: 30_000, forgetAfterMs: QUIET };

/** Failed (or still unverified) attempts since the key was last quiet, and when it may try next. */
export type FailureCounter = { failures: number; lastFailureAt: Date; nextAttemptAt: Date | null };

/** How long a key with `failures` failures waits before its next attempt. */
export function delayMs(failures: number, policy: ThrottlePolicy): number {
  if (failures <= policy.freeFailures) return 0;
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(30, failures - policy.freeFailures - 1));
}

/** Seconds until the key may try again, or 0 when it may try now. */
export function retryAfterSeconds(counter: FailureCounter | undefined, now: Date): number {
  if (!counter?.nextAttemptAt || counter.nextAttemptAt <= now) return 0;
  return Math.ceil((counter.nextAttemptAt.getTime() - now.getTime()) / 1000);
}

/** The counter after one more failure (or reservation). A key quiet for `forgetAfterMs` starts afresh. */
export function recordFailure(counter: FailureCounter | undefined, policy: ThrottlePolicy, now: Date): FailureCounter {
  const fresh = !counter || now.getTime() - counter.lastFailureAt.getTime() > policy.forgetAfterMs;
  const failures = fresh ? 1 : counter.failures + 1;
  const wait = delayMs(failures, policy);
  return { failures, lastFailureAt: now, nextAttemptAt: wait > 0 ? new Date(now.getTime() + wait) : null };
}

/**
 * The counter after a reserved attempt turned out to be a success: the reservation is given
 * back. `reserved` is the counter as that reservation left it. If no attempt was reserved
 * since, the wait it set is lifted too (the one before it had run out, or it would not have
 * been admitted); a later reservation's wait stands.
 */
export function releaseReservation(counter: FailureCounter, reserved: FailureCounter): FailureCounter {
  const reservedSince = counter.failures !== reserved.failures || counter.lastFailureAt.getTime() !== reserved.lastFailureAt.getTime();
  return { ...counter, failures: Math.max(0, counter.failures - 1), nextAttemptAt: reservedSince ? counter.nextAttemptAt : null };
}

export type ThrottledKey = { key: string; policy: ThrottlePolicy; counter: FailureCounter | undefined };

export type Admission = { admitted: true; counters: Map<string, FailureCounter> } | { admitted: false; retryAfterSeconds: number };

/**
 * One attempt against several keys (account and address): refused, unchanged,
 * while any key must still wait; otherwise reserved on every key.
 */
export function admitAttempt(keys: ThrottledKey[], now: Date): Admission {
  const wait = Math.max(0, ...keys.map((k) => retryAfterSeconds(k.counter, now)));
  if (wait > 0) return { admitted: false, retryAfterSeconds: wait };
  return { admitted: true, counters: new Map(keys.map((k) => [k.key, recordFailure(k.counter, k.policy, now)])) };
}

/**
 * The most attempts one key can have checked within `seconds` from a fresh start, when
 * every attempt fails and the next is sent the moment its wait is over: the rate README states.
 */
export function mostAttemptsWithin(seconds: number, policy: ThrottlePolicy): number {
  let attempts = 0;
  for (let at = 0; at <= seconds * 1000; at += delayMs(attempts, policy)) {
    attempts += 1;
    if (attempts > 1_000_000) break;
  }
  return attempts;
}

/** A token bucket: `capacity` attempts at once, then one more every `refillMs`. */
export type BucketPolicy = { capacity: number; refillMs: number };
/** Sign-ups from one address (each runs argon2id at 19 MiB): five at once, then one a minute. */
export const REGISTRATION_POLICY: BucketPolicy = { capacity: 5, refillMs: 60_000 };

export type Bucket = { tokens: number; updatedAt: Date };
export type Withdrawal = { taken: true; bucket: Bucket } | { taken: false; retryAfterSeconds: number };

/** Takes one token if there is one (after refilling for the time passed); otherwise says how long until there is. */
export function takeToken(bucket: Bucket | undefined, policy: BucketPolicy, now: Date): Withdrawal {
  const elapsed = bucket ? Math.max(0, now.getTime() - bucket.updatedAt.getTime()) : 0;
  const tokens = bucket ? Math.min(policy.capacity, bucket.tokens + elapsed / policy.refillMs) : policy.capacity;
  if (tokens >= 1) return { taken: true, bucket: { tokens: tokens - 1, updatedAt: now } };
  return { taken: false, retryAfterSeconds: Math.max(1, Math.ceil(((1 - tokens) * policy.refillMs) / 1000)) };
}
