import type { AuditEntry, AuditPage } from '@caregrid/contracts';

/**
 * A patient's view of the audit trail of their data: when, what, and who in
 * the terms they know (themselves, a doctor, the clinic's staff, the clinic's
 * systems). Staff user ids, addresses, request and trace ids stay with the
 * administrators.
 */
export type AccessLogEntry = {
  at: string;
  action: AuditEntry['action'];
  record: AuditEntry['resource'];
  recordId: string | null;
  outcome: AuditEntry['outcome'];
  accessedBy:
    | { kind: 'you' }
    | { kind: 'doctor'; doctorId: string }
    | { kind: 'staff'; role: 'admin' | 'receptionist' }
    | { kind: 'another-user' }
    | { kind: 'clinic-system' };
};

export type AccessLogPort = (patientId: string, page: { limit: number; cursor?: string }) => Promise<AuditPage>;

function accessedBy(entry: AuditEntry, patientId: string): AccessLogEntry['accessedBy'] {
  const actor = entry.actor;
  if (actor.kind !== 'user') return { kind: 'clinic-system' };
  if (actor.patientId === patientId && actor.roles.includes('patient')) return { kind: 'you' };
  if (actor.doctorId && actor.roles.includes('doctor')) return { kind: 'doctor', doctorId: actor.doctorId };
  if (actor.roles.includes('admin')) return { kind: 'staff', role: 'admin' };
  if (actor.roles.includes('receptionist')) return { kind: 'staff', role: 'receptionist' };
  // Another patient, an account linked to nothing: never labelled as staff (a denied attempt is
  // logged too, and calling a stranger "receptionist" would send the patient to the wrong person).
  return { kind: 'another-user' };
}

export function toAccessLogEntry(entry: AuditEntry, patientId: string): AccessLogEntry {
  return {
    at: entry.at,
    action: entry.action,
    record: entry.resource,
    recordId: entry.resourceId,
    outcome: entry.outcome,
    accessedBy: accessedBy(entry, patientId),
  };
}
