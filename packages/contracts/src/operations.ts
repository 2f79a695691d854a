import { z } from 'zod';

/** A subscriber's parked dead letters: how many, how many are poison, the oldest, and from which topics. */
export const deadLetterBacklog = z.object({
  parked: z.number().int(),
  poison: z.number().int().describe('Refused as malformed or failing for reasons of their own: wait for a person'),
  oldestParkedAt: z.iso.datetime().nullable(),
  byTopic: z.array(z.object({ topic: z.string(), parked: z.number().int(), poison: z.number().int() })),
});

/** A service's outbox: events written but not yet published, and those parked after repeated publish failures. */
export const outboxBacklog = z.object({
  pending: z.number().int().describe('Not yet published (parked ones included)'),
  parked: z.number().int(),
  oldestPendingAt: z.iso.datetime().nullable(),
});

/** `GET /ops/backlog` of every service with an outbox or dead letters (admin; the clinic app's Operations screen). */
export const serviceBacklog = z.object({
  service: z.string(),
  at: z.iso.datetime(),
  outbox: outboxBacklog.nullable(),
  deadLetters: deadLetterBacklog.nullable(),
});

export type DeadLetterBacklog = z.infer<typeof deadLetterBacklog>;
export type OutboxBacklog = z.infer<typeof outboxBacklog>;
export type ServiceBacklog = z.infer<typeof serviceBacklog>;
