import { auditPublisherOf, Topics, type AuditEntry, type CloudEvent, type TrailEntry } from '@caregrid/contracts';

/**
 * An entry as the trail keeps it. Its `service` is the publisher the topic names: only that
 * service's sidecar may publish on `audit.<app-id>` (the pub/sub scopes, and the broker's ACLs),
 * whatever the entry says of itself. An entry claiming another service is kept — refused, it would
 * go to the dead letters and the access it records would be lost — under its publisher, with the
 * claim in `claimedService` for an admin to see. An entry from the old shared `audit` topic has
 * nothing better than its own word (`via: audit`).
 */
export function trailEntryOf(event: CloudEvent<unknown>): TrailEntry {
  const entry = event.data as AuditEntry;
  const topic = event.topic ?? Topics.audit;
  const publisher = auditPublisherOf(topic);
  if (!publisher) return { ...entry, via: topic };
  return { ...entry, service: publisher, via: topic, ...(entry.service !== publisher ? { claimedService: entry.service } : {}) };
}

/** Entries written before this instant are past the retention period. */
export const retentionCutoff = (now: Date, retentionDays: number): Date => new Date(now.getTime() - retentionDays * 86_400_000);
