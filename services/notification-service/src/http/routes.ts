import { z } from 'zod';
import { NOTICE_STATUSES, noticeRecord } from '@caregrid/contracts';
import { ApiRouter, pageQuerySchema } from '@caregrid/platform';
import { ACCOUNT_MAIL_PURPOSES } from '@caregrid/contracts';
import type { NotificationUseCases } from '../use-cases.js';

const noticeResponse = noticeRecord;
/** An account mail (ids only: the address and the link are auth-service's, fetched when it is sent). */
const accountNoticeResponse = z.object({
  id: z.uuid(),
  requestId: z.uuid(),
  accountId: z.uuid(),
  kind: z.enum(ACCOUNT_MAIL_PURPOSES),
  status: z.enum(NOTICE_STATUSES),
  attempts: z.number().int(),
  nextAttemptAt: z.iso.datetime().nullable(),
  lastError: z.string().nullable(),
  sentAt: z.iso.datetime().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
const listQuery = z.strictObject({
  appointmentId: z.uuid().optional(),
  patientId: z.uuid().optional(),
  status: z.enum(NOTICE_STATUSES).optional(),
  ...pageQuerySchema,
});
const preferenceBody = z.strictObject({
  patientId: z.uuid().optional().describe("The patient (a patient's own record when omitted)"),
  reminders: z.boolean().describe('false: no appointment reminders (confirmations, cancellations and receipts still go)'),
});
const idParams = z.object({ id: z.uuid() });

export function notificationRoutes(notifications: NotificationUseCases): ApiRouter {
  return ApiRouter.forService('notification-service')
    .add({
      method: 'get',
      path: '/notifications',
      summary: "The mail about appointments and its state: staff all, a patient their own appointments', a doctor theirs",
      tags: ['notifications'],
      query: listQuery,
      responses: {
        200: { description: 'A page', schema: z.object({ items: z.array(noticeResponse), nextCursor: z.string().nullable() }) },
      },
      handler: async ({ query, caller, res }) => {
        res.json(await notifications.list(caller, query));
      },
    })
    .add({
      method: 'get',
      path: '/notifications/preferences',
      summary: "Whether a patient gets appointment reminders (a patient their own record; staff any patient's)",
      tags: ['notifications'],
      query: z.strictObject({ patientId: preferenceBody.shape.patientId }),
      responses: {
        200: { description: 'The preference', schema: z.object({ patientId: z.uuid(), reminders: z.boolean() }) },
        400: { description: 'No patient named' },
        403: { description: 'Not your record' },
      },
      handler: async ({ query, caller, res }) => {
        res.json(await notifications.reminders(caller, query));
      },
    })
    .add({
      method: 'put',
      path: '/notifications/preferences',
      summary: 'Turn appointment reminders on or off (a patient for their own record; staff for any patient)',
      tags: ['notifications'],
      body: preferenceBody,
      responses: {
        200: { description: 'The preference', schema: z.object({ patientId: z.uuid(), reminders: z.boolean() }) },
        400: { description: 'No patient named' },
        403: { description: 'Not your record' },
      },
      handler: async ({ body, caller, res }) => {
        res.json(await notifications.setReminders(caller, body));
      },
    })
    .add({
      method: 'post',
      path: '/notifications/:id/resend',
      summary: 'Send a failed notice again, with a fresh budget of attempts (admin)',
      tags: ['notifications'],
      params: idParams,
      responses: {
        200: { description: 'Pending again', schema: z.union([noticeResponse, accountNoticeResponse]) },
        404: { description: 'No such notice' },
        422: { description: 'The notice has not failed' },
      },
      handler: async ({ params, res }) => {
        res.json(await notifications.resend(params.id));
      },
    });
}
