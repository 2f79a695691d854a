import { z } from 'zod';
import { auditPage } from '@caregrid/contracts';
import { ApiRouter, pageQuerySchema, timestamp } from '@caregrid/platform';
import type { AnalyticsUseCases } from '../use-cases.js';

export const auditQuery = z.strictObject({
  patientId: z.uuid().optional(),
  actor: z.string().trim().min(1).max(200).optional().describe('A user id, or the app-id of a peer service'),
  from: timestamp.optional(),
  to: timestamp.optional(),
  ...pageQuerySchema,
});

/** The audit trail: read by admins (and by patient-service for a patient's access log), appended only by events. */
export function auditRoutes(analytics: AnalyticsUseCases): ApiRouter {
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
        res.json(
          await analytics.readAudit({
            ...query,
            from: query.from ? new Date(query.from) : undefined,
            to: query.to ? new Date(query.to) : undefined,
          }),
        );
      },
    })
    .add({
      method: 'post',
      path: '/audit-retention',
      summary: 'Input of the audit-retention cron binding: entries older than the retention period removed (sidecar only)',
      tags: ['internal'],
      responses: { 200: { description: 'How many entries were removed' } },
      handler: async ({ res }) => {
        const { removed, cutoff } = await analytics.applyRetention();
        res.json({ removed, cutoff: cutoff.toISOString() });
      },
    });
}
