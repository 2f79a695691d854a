import type { AuditEntry } from '@caregrid/contracts';
import { sampleAuditEntry } from '@caregrid/devkit';
import { NotFoundError, type Caller } from '@caregrid/platform';
import { toAccessLogEntry } from '../../src/domain/access-log.js';
import { accessLogPage } from '../../src/http/schemas.js';
import { patientUseCases } from '../../src/use-cases.js';

const PATIENT = '0199a1b2-0000-7000-8000-000000000001';
const entry = (actor: AuditEntry['actor']): AuditEntry =>
  sampleAuditEntry({
    id: '0199a1b2-0000-7000-8000-0000000000aa',
    at: '2031-01-01T10:00:00.000Z',
    actor,
    resourceId: PATIENT,
    patientIds: [PATIENT],
    clientAddress: '192.0.2.1',
    requestId: 'req-1',
  });

describe("a patient's access log", () => {
  it('names who in the terms a patient knows, and nothing of the staff-internal detail', () => {
    const cases: [AuditEntry['actor'], unknown][] = [
      [{ kind: 'user', userId: 'u-p', roles: ['patient'], patientId: PATIENT }, { kind: 'you' }],
      [
        { kind: 'user', userId: 'u-d', roles: ['doctor'], doctorId: 'd-1' },
        { kind: 'doctor', doctorId: 'd-1' },
      ],
      [
        { kind: 'user', userId: 'u-r', roles: ['receptionist'] },
        { kind: 'staff', role: 'receptionist' },
      ],
      [
        { kind: 'user', userId: 'u-a', roles: ['admin', 'receptionist'] },
        { kind: 'staff', role: 'admin' },
      ],
      // Another patient's account is not "you", even with the same id claimed elsewhere.
      [
        { kind: 'user', userId: 'u-x', roles: ['receptionist'], patientId: PATIENT },
        { kind: 'staff', role: 'receptionist' },
      ],
      // Another patient, an unlinked account, a doctor's role without a doctor record: not staff.
      [{ kind: 'user', userId: 'u-p2', roles: ['patient'], patientId: 'p-2' }, { kind: 'another-user' }],
      [{ kind: 'user', userId: 'u-x2', roles: [] }, { kind: 'another-user' }],
      [{ kind: 'user', userId: 'u-d2', roles: ['doctor'] }, { kind: 'another-user' }],
      [{ kind: 'service', appId: 'appointment-service' }, { kind: 'clinic-system' }],
    ];
    for (const [actor, accessedBy] of cases) {
      const shown = toAccessLogEntry(entry(actor), PATIENT);
      expect(shown).toEqual({
        at: '2031-01-01T10:00:00.000Z',
        action: 'read',
        record: 'patient',
        recordId: PATIENT,
        outcome: 'allowed',
        accessedBy,
      });
      expect(JSON.stringify(shown)).not.toMatch(/u-[pdrax]\d?|192\.0\.2\.1|req-1|aaaa/);
    }
  });

  it("shows reads of the trail itself (this log, an admin's search) like any other access, in the answer's schema", () => {
    const reads: [AuditEntry['actor'], AuditEntry['action'], unknown][] = [
      [{ kind: 'user', userId: 'u-p', roles: ['patient'], patientId: PATIENT }, 'read', { kind: 'you' }],
      [{ kind: 'service', appId: 'patient-service' }, 'search', { kind: 'clinic-system' }],
      [{ kind: 'user', userId: 'u-a', roles: ['admin'] }, 'search', { kind: 'staff', role: 'admin' }],
    ];
    const items = reads.map(([actor, action]) => toAccessLogEntry({ ...entry(actor), resource: 'audit', action }, PATIENT));
    expect(accessLogPage.parse({ items, nextCursor: null }).items).toEqual(
      reads.map(([, action, accessedBy]) => expect.objectContaining({ record: 'audit', action, accessedBy })),
    );
  });

  it("is the patient's own (or an admin's) to read: anyone else's answers like an absent one", async () => {
    const trail = async () => ({ items: [entry({ kind: 'service', appId: 'appointment-service' })], nextCursor: null });
    const patient = (patientId: string): Caller => ({ kind: 'user', userId: 'u', roles: ['patient'], patientId });
    // The access log needs no patient record: only the trail.
    const readAccessLog = (caller: Caller, patientId: string, page: { limit: number }, auditTrail: typeof trail) =>
      patientUseCases({ patients: {} as never, auditTrail }).accessLog(caller, patientId, page);
    await expect(readAccessLog(patient(PATIENT), PATIENT, { limit: 10 }, trail)).resolves.toMatchObject({ items: [{ action: 'read' }] });
    await expect(readAccessLog({ kind: 'user', userId: 'a', roles: ['admin'] }, PATIENT, { limit: 10 }, trail)).resolves.toBeDefined();
    await expect(readAccessLog(patient('someone-else'), PATIENT, { limit: 10 }, trail)).rejects.toBeInstanceOf(NotFoundError);
  });
});
