/**
 * Per-client rate limit: each client has a bucket of `capacity` tokens that
 * refills continuously at `perMinute / 60` tokens a second; a request takes
 * one. Bursts up to the capacity pass, sustained excess is refused.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; updatedAt: number }>();

  constructor(
    private readonly perMinute: number,
    private readonly capacity = perMinute,
  ) {}

  /** 0 when the request may pass; otherwise seconds until a token is available. */
  take(client: string, now = Date.now()): number {
    const bucket = this.buckets.get(client) ?? { tokens: this.capacity, updatedAt: now };
    bucket.tokens = Math.min(this.capacity, bucket.tokens + ((now - bucket.updatedAt) / 60_000) * this.perMinute);
    bucket.updatedAt = now;
    this.buckets.set(client, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      if (this.buckets.size > 50_000) this.forgetFull(now);
      return 0;
    }
    return Math.ceil(((1 - bucket.tokens) / this.perMinute) * 60);
  }

  /** Full buckets carry no information: dropping them bounds memory. */
  private forgetFull(now: number): void {
    for (const [client, bucket] of this.buckets) {
      if (bucket.tokens + ((now - bucket.updatedAt) / 60_000) * this.perMinute >= this.capacity) this.buckets.delete(client);
    }
  }
}
