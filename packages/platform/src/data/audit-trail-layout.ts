/**
 * The audit trail's store: its own database, where analytics-service's writer login may only
 * insert and read and its retention login may only remove entries and move checkpoints. Neither
 * may create collections or indexes, so the store's owner makes this layout when it provisions
 * the store (packages/devkit/src/audit-trail.ts locally; the Mongo init script in Compose and
 * Kubernetes), and the service only checks it.
 */
export const AUDIT_TRAIL_DATABASE = 'analytics_audit';
export const AUDIT_TRAIL_LAYOUT = {
  // Newest first; by patient and by actor, ending in time; a service's chain in order.
  audit: [
    { at: -1, _id: -1 },
    { patientIds: 1, at: -1 },
    { actorId: 1, at: -1 },
    { service: 1, seq: 1 },
  ],
  audit_chain_moves: [{ service: 1, from: -1 }],
  audit_checkpoints: [],
} as const;
