export const AUDIT_TRAIL_DATABASE = 'analytics_audit';
export const AUDIT_TRAIL_LAYOUT = {
  audit: [ { at: -1, _id: -1 }, { patientIds: 1, at: -1 }, { actorId: 1, at: -1 }, { service: 1, seq: 1 } ],
  audit_chain_moves: [ { service: 1, from: -1 } ],
  audit_checkpoints: [],
} as const;
