import { auditPage, type AuditPage } from '@caregrid/contracts';
import { DependencyUnavailableError, InvalidInputError, type Sidecar } from '@caregrid/platform';

/**
 * One patient's entries of the audit trail, asked of analytics-service (which
 * keeps it) by service invocation as patient-service itself, and parsed by
 * their contract; a refused cursor is the client's (400), anything else the
 * trail being unavailable (503).
 */
export async function fetchAuditEntries(sidecar: Sidecar, patientId: string, page: { limit: number; cursor?: string }): Promise<AuditPage> {
  const query = new URLSearchParams({ patientId, limit: String(page.limit), ...(page.cursor ? { cursor: page.cursor } : {}) });
  const result = await sidecar.invoke('analytics-service', 'GET', `/audit?${query}`);
  // The only input of the client's that reaches the trail unchecked here is the opaque cursor.
  if (!result.ok && result.status === 400) {
    throw new InvalidInputError('cursor is not valid', [{ path: 'query.cursor', message: 'not a cursor from this list' }]);
  }
  const entries = result.ok ? auditPage.safeParse(result.body) : undefined;
  if (!entries?.success) throw new DependencyUnavailableError('the audit trail (analytics-service)', result.body);
  return entries.data;
}
