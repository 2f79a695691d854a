import { z } from 'zod';
import { auditPage } from '@caregrid/contracts';
import { ApiRouter, noteAccess, pageQuerySchema, timestamp, type Logger } from '@caregrid/platform';
import type { AuditStore } from '../data/audit-store.js';

export const auditQuery = z.strictObject({
  patientId: z.uuid().optional(),
  actor: z.string().trim().min(1).max(200).optional().describe('A user id, or the app-id of a peer service'),
  from: timestamp.optional(),
  to: timestamp.optional(),
  ...pageQuerySchema,
});

/** The audit trail: read by admins (and by patient-service for a patient's access log), appended only by events. */
export function auditRoutes(store: AuditStore, settings: { retentionDays: number }, logger: Logger): ApiRouter {
  return ApiRouter.forService('analytics-service')
    .add({
      method: 'get',
      path: '/audit',
      audit: 'search',
      summary: 'The audit trail of access to patient data, newest first, by patient, actor and time (admin)',
      tags: ['audit'],
      query: auditQuery,
      responses: {
        200: { description: 'A page of entries', schema: auditPage },
        400: { description: 'Invalid filter' },
        403: { description: 'Admins only' },
      },
      handler: async ({ query, res }) => {
        // Its own entry says whose trail was read: a search by patient, that patient's (found or
        // not); any other search, the patients its entries name.
        if (query.patientId) noteAccess({ patientIds: [query.patientId] });
        const page = await store.find({
          ...query,
          from: query.from ? new Date(query.from) : undefined,
          to: query.to ? new Date(query.to) : undefined,
        });
        if (!query.patientId) noteAccess({ patientIds: page.items.flatMap((entry) => entry.patientIds) });
        res.json(page);
      },
    })
    .add({
      method: 'post',
      path: '/audit-retention',
      summary: 'Input of the audit-retention cron binding: entries older than the retention period removed (sidecar only)',
      tags: ['internal'],
      responses: { 200: { description: 'How many entries were removed' } },
      handler: async ({ res }) => {
        const cutoff = new Date(Date.now() - settings.retentionDays * 86_400_000);
        const removed = await store.purgeOlderThan(cutoff);
        logger.info({ removed, cutoff }, 'audit retention applied');
        res.json({ removed, cutoff: cutoff.toISOString() });
      },
    });
}
