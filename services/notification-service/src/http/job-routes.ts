import { z } from 'zod';
import { ApiRouter, type Logger } from '@caregrid/platform';
import { appointmentOfJob } from '../domain/notice.js';
import type { NotificationUseCases } from '../use-cases.js';

const jobData = z.object({ appointmentId: z.uuid(), version: z.number().int().positive() });

/**
 * The routes the sidecar calls on its own: a reminder job firing (Dapr Jobs, `POST /job/<name>`)
 * and the daily sweep (cron binding `reminder-sweep`). Every job is answered 200 on purpose,
 * saying what became of it, even one that names nothing of ours: daprd takes a 404 for delivered
 * anyway, so an answer that means "unknown route" would hide a missing route. A 503 (ledger or
 * appointment-service down) makes the scheduler deliver the job again.
 */
export function jobRoutes(deps: { notifications: NotificationUseCases; logger: Logger }): ApiRouter {
  const { notifications, logger } = deps;
  return ApiRouter.forService('notification-service')
    .add({
      method: 'post',
      path: '/job/:name',
      summary: 'A reminder job fired: enqueue the reminder if the appointment still holds (sidecar only)',
      tags: ['jobs'],
      params: z.object({ name: z.string() }),
      body: z.unknown(),
      responses: {
        200: { description: 'What became of the job: enqueued, skipped (the appointment changed) or ignored (nothing of ours)' },
      },
      handler: async ({ params, body, res }) => {
        const appointmentId = appointmentOfJob(params.name);
        const data = jobData.safeParse(body);
        const outcome =
          appointmentId && data.success
            ? await notifications.reminderFired(appointmentId, data.data)
            : { outcome: 'ignored' as const, reason: appointmentId ? 'the job data is not a reminder' : 'not a reminder job' };
        logger.info({ job: params.name, ...outcome }, 'reminder job');
        res.json(outcome);
      },
    })
    .add({
      method: 'post',
      path: '/reminder-sweep',
      summary: 'Daily: schedule again every reminder job the scheduler lost (cron binding; sidecar only)',
      tags: ['jobs'],
      body: z.unknown(),
      responses: { 200: { description: 'How many reminders were checked, rescheduled and skipped' } },
      handler: async ({ res }) => {
        const result = await notifications.sweepReminders();
        logger.info(result, 'reminder sweep');
        res.json(result);
      },
    });
}
