import { randomUUID } from 'node:crypto';
import { cloudEventSchema } from '@caregrid/contracts';

/**
 * Dead letters of a subscriber: events daprd gave up on (dropped as malformed,
 * or still failing after the Resiliency retries) arrive on the subscriber's own
 * dead-letter topics (`<topic>.<app-id>.dlq`) and are parked in the service's
 * own database, with the original event, until a re-drive applies them through
 * the same handler as the live subscription.
 */
export type DeadLetterArrival = {
  /** The CloudEvent id (the idempotency key of every handler). */
  id: string;
  /** The topic the event was first published to (not the dead-letter topic). */
  topic: string;
  type?: string;
  subject?: string;
  /** The whole original CloudEvent: what a re-drive hands to the handler. */
  event: unknown;
};

/** A delivery from a dead-letter topic: daprd moves the original envelope unchanged, so `topic` is where it was first published. */
export function deadLetterArrival(body: unknown): DeadLetterArrival {
  const envelope = cloudEventSchema.safeParse(body);
  // Not a CloudEvent at all: parked under an id of its own, for a person to look at.
  if (!envelope.success) return { id: `unidentified-${randomUUID()}`, topic: 'unknown', event: body };
  const { id, topic, type, subject } = envelope.data;
  return { id, topic: topic ?? 'unknown', type, subject, event: body };
}
