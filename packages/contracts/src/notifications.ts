import { z } from 'zod';

/**
 * notification-service's ledger as its peers and its FHIR face read it: one notice is one mail
 * about one appointment, at most one per (appointment, kind, version). Ids and times only.
 */
export const NOTICE_KINDS = ['confirmation', 'reminder', 'cancellation', 'receipt'] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];

/**
 * - scheduled: a reminder waiting for its job to fire;
 * - pending: to be sent (now, or at nextAttemptAt after a failed attempt);
 * - sent, failed (budget spent or refused for good; an admin may send it again), skipped (no longer true).
 */
export const NOTICE_STATUSES = ['scheduled', 'pending', 'sent', 'failed', 'skipped'] as const;
export type NoticeStatus = (typeof NOTICE_STATUSES)[number];

/** notification-service's answer for one notice (items of `GET /notifications`). */
export const noticeRecord = z.object({
  id: z.uuid(),
  appointmentId: z.uuid(),
  patientId: z.uuid(),
  doctorId: z.uuid(),
  kind: z.enum(NOTICE_KINDS),
  version: z.number().int(),
  status: z.enum(NOTICE_STATUSES),
  attempts: z.number().int(),
  nextAttemptAt: z.iso.datetime().nullable(),
  lastError: z.string().nullable(),
  appointmentStart: z.iso.datetime(),
  dueAt: z.iso.datetime().nullable(),
  jobName: z.string().nullable(),
  sentAt: z.iso.datetime().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type NoticeRecord = z.output<typeof noticeRecord>;
