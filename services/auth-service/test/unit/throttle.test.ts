import { recordFailure, retryAfterSeconds, type ThrottlePolicy } from '../../src/domain/throttle.js';

const policy: ThrottlePolicy = { maxFailures: 3, windowMs: 60_000, lockoutMs: 120_000 };
const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds));

describe('login throttling rules', () => {
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
});
