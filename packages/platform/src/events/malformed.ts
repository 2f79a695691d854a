import type { ContractViolation } from '@caregrid/contracts';
import { DependencyUnavailableError } from '../errors.js';
import type { Logger } from '../logger.js';
import { deadLetterArrival, type DeadLetterArrival } from './arrival.js';
import type { DeadLetterStore } from './dead-letters.js';

/**
 * Why an event is malformed: its envelope or data fails its contract, or (a subscriber of whole
 * topics) no contract defines its type. `paths` name the fields, never their values.
 */
export type Malformation = { reason: string; paths: string[] };

export const malformationOf = (violation: ContractViolation): Malformation => ({
  reason: violation.message,
  paths: violation.issues.map((issue) => issue.path),
});

export const unknownEventType = (type: unknown): Malformation => ({
  reason: `no contract for event type ${String(type)}`,
  paths: ['type'],
});

/** Where the policy notes a malformed event: the subscriber's own dead-letter store. */
export type MalformedEventPolicy = { logger: Logger; deadLetters: Pick<DeadLetterStore, 'noteDropped'> };

/**
 * The dead letter of a malformed event, and what the log says of it: its topic (the envelope's,
 * else the contract's), type, id and the failing fields' paths. The payload and the issues'
 * messages stay out of the log: they may carry patient data, and the letter keeps them for an admin.
 */
export function malformedLetter(
  body: unknown,
  malformation: Malformation,
  topicOfContract?: string,
): { letter: DeadLetterArrival & { reason: string }; log: { eventId: string; topic: string; type: string | null; issues: string[] } } {
  const arrival = deadLetterArrival(body);
  const topic = arrival.topic === 'unknown' && topicOfContract ? topicOfContract : arrival.topic;
  return {
    letter: { ...arrival, topic, reason: malformation.reason },
    log: { eventId: arrival.id, topic, type: arrival.type ?? null, issues: malformation.paths },
  };
}

/**
 * What every subscriber does with a malformed event (deliveryOf, deliveryByContract): no retry
 * can fix it, so it is noted at once as a poison dead letter with its reason (listed at
 * /ops/dead-letters, applied again when an admin re-drives it after a contract fix), logged at
 * warn, and answered DROP; daprd then moves it to the subscriber's dead-letter topic, whose drain
 * counts it on the same letter.
 */
export async function refuseMalformed(
  body: unknown,
  malformation: Malformation,
  policy: MalformedEventPolicy & { topicOfContract?: string },
): Promise<{ status: 'DROP'; reason: string }> {
  const { letter, log } = malformedLetter(body, malformation, policy.topicOfContract);
  policy.logger.warn(log, 'malformed event: noted as a poison dead letter and dropped to the dead-letter topic, never retried');
  try {
    await policy.deadLetters.noteDropped(letter);
  } catch (error) {
    if (!(error instanceof DependencyUnavailableError)) throw error;
    // Dropped all the same: the drain of the dead-letter topic parks it once the store is back,
    // and the first automatic re-drive finds it malformed (poison then, with the reason).
    policy.logger.warn({ err: error, eventId: letter.id }, 'malformed event not noted: the dead-letter store is unavailable');
  }
  return { status: 'DROP', reason: malformation.reason };
}
