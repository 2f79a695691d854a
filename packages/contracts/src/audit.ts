import { z } from 'zod';
import { ROLES } from './auth.js';
import { defineEvent, Topics } from './core.js';

/**
 * The audit trail of access to a patient's data: one entry per request to a
 * route that reads, searches, creates, changes, deletes or downloads patient
 * records, appointments or invoices — allowed or not — and per read of the
 * trail itself (`audit`: an admin's search, a patient's access log). Services
 * write it to their outbox before answering; analytics-service keeps it,
 * append-only.
 */
export const AUDITED_RESOURCES = ['patient', 'appointment', 'invoice', 'audit'] as const;
export const AUDIT_ACTIONS = ['read', 'search', 'create', 'change', 'delete', 'download'] as const;
export const AUDIT_OUTCOMES = ['allowed', 'denied', 'failed'] as const;
export type AuditedResource = (typeof AUDITED_RESOURCES)[number];
export type AuditAction = (typeof AUDIT_ACTIONS)[number];
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

export const auditActor = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('user'),
    userId: z.string().max(200),
    roles: z.array(z.enum(ROLES)),
    patientId: z.string().max(200).optional(),
    doctorId: z.string().max(200).optional(),
  }),
  z.object({ kind: z.literal('service'), appId: z.string().max(200) }),
  z.object({ kind: z.literal('anonymous') }),
]);
export type AuditActor = z.infer<typeof auditActor>;

export const auditEntry = z.object({
  id: z.uuid(),
  at: z.iso.datetime(),
  actor: auditActor,
  /** The app-id that served the request. */
  service: z.string().max(100),
  resource: z.enum(AUDITED_RESOURCES),
  /** The record addressed by the request (null for a search or a refused creation). */
  resourceId: z.string().max(100).nullable(),
  action: z.enum(AUDIT_ACTIONS),
  /** Which patients' data the request concerned (a search: those it returned). */
  patientIds: z.array(z.uuid()).max(1000),
  outcome: z.enum(AUDIT_OUTCOMES),
  status: z.number().int().min(100).max(599),
  clientAddress: z.string().max(100).nullable(),
  /** Minted by the gateway for the request (a peer's call carries the id of the request it serves). */
  requestId: z.string().max(128),
  /** The X-Request-Id the client sent, if it sent a well-formed one: its word, kept beside ours. */
  clientRequestId: z.string().max(128).optional(),
  traceId: z.string().max(32),
  /**
   * The entry's place in its service's hash chain (packages/platform/src/audit/chain.ts), given by
   * the service in the transaction that puts it into its outbox: 1, 2, 3… per service, `hash` the
   * SHA-256 of the entry's canonical JSON (everything but `hash`, `prevHash` included), `prevHash`
   * the previous entry's. Absent only on entries from before the chain.
   */
  seq: z.number().int().min(1).optional(),
  prevHash: sha256Hex.optional(),
  hash: sha256Hex.optional(),
});
export type AuditEntry = z.infer<typeof auditEntry>;

/** Published by each service on its own topic, `audit.<app-id>` (auditTopic); `topic` here is the old shared one. */
export const auditRecorded = defineEvent({ aggregate: 'audit', verb: 'recorded', topic: Topics.audit, data: auditEntry });

/** An entry as the trail keeps it: `service` is the publisher the topic vouches for, not the entry's word. */
export const trailEntry = auditEntry.extend({
  /** The topic the entry arrived on (absent for analytics-service's own entries); `audit`: from before per-service topics, its `service` is the entry's own claim. */
  via: z.string().max(200).optional(),
  /** The service the entry claimed to be from, when that was not the service whose topic carried it: a forgery, kept as evidence. */
  claimedService: z.string().max(100).optional(),
});
export type TrailEntry = z.infer<typeof trailEntry>;

/** A page of the trail as analytics-service answers `GET /audit` (newest first); read by patient-service for access logs. */
export const auditPage = z.object({ items: z.array(trailEntry), nextCursor: z.string().nullable() });
export type AuditPage = z.infer<typeof auditPage>;
