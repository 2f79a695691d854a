import type { NoticeKind, NoticeRecord, NoticeStatus } from '@caregrid/contracts';
import { narrative, readableTime } from './narrative.js';
import { compact, reference, Systems, type CodeableConcept, type Resource } from './systems.js';

export type FhirCommunicationRequest = Resource & { resourceType: 'CommunicationRequest'; id: string };
export type FhirCommunication = Resource & { resourceType: 'Communication'; id: string };

/**
 * notification-service's notices as FHIR. A scheduled reminder is a CommunicationRequest; a
 * notice of any kind once sent (or given up on) is a Communication. Both take the notice's id
 * (so a sent reminder's Communication is basedOn the CommunicationRequest of the same id), and
 * both carry references and times only: no payload, no address, no name (the mail's text is
 * written from the owners' records when it is sent, and is not kept).
 */

/**
 * A reminder's notice status as a request-status:
 * - scheduled or pending: active (waiting for its time, or about to go out);
 * - sent: completed;
 * - skipped (the appointment was cancelled or moved, the patient turned reminders off): revoked;
 * - failed (the mail server refused it past its budget): on-hold, until an operator sends it again.
 */
export const REQUEST_STATUS_OF = {
  scheduled: 'active',
  pending: 'active',
  sent: 'completed',
  skipped: 'revoked',
  failed: 'on-hold',
} as const satisfies Record<NoticeStatus, string>;
export type CommunicationRequestStatus = (typeof REQUEST_STATUS_OF)[NoticeStatus];
export const COMMUNICATION_REQUEST_STATUSES = ['active', 'on-hold', 'revoked', 'completed'] as const satisfies CommunicationRequestStatus[];

/** A Communication is what was sent (completed) or given up on (not-done); nothing before that. */
export const COMMUNICATION_STATUS_OF = { sent: 'completed', failed: 'not-done' } as const satisfies Partial<Record<NoticeStatus, string>>;
export type CommunicationStatus = (typeof COMMUNICATION_STATUS_OF)[keyof typeof COMMUNICATION_STATUS_OF];
export const COMMUNICATION_STATUSES = ['completed', 'not-done'] as const satisfies CommunicationStatus[];

const statusesMapping = <S extends string>(table: Partial<Record<NoticeStatus, S>>, status: S): NoticeStatus[] =>
  (Object.keys(table) as NoticeStatus[]).filter((notice) => table[notice] === status);

/** The notice statuses a CommunicationRequest (or Communication) status search matches. */
export const noticeStatusesOfRequest = (status: CommunicationRequestStatus) => statusesMapping(REQUEST_STATUS_OF, status);
export const noticeStatusesOfCommunication = (status: CommunicationStatus) => statusesMapping(COMMUNICATION_STATUS_OF, status);

/** Which notices are which resource: only reminders are requested ahead; only sent or failed ones are Communications. */
export const REQUESTED_KINDS: readonly NoticeKind[] = ['reminder'];
export const COMMUNICATED_STATUSES = Object.keys(COMMUNICATION_STATUS_OF) as (keyof typeof COMMUNICATION_STATUS_OF)[];
export const isCommunicationRequest = (notice: Pick<NoticeRecord, 'kind'>) => REQUESTED_KINDS.includes(notice.kind);
export const isCommunication = (notice: Pick<NoticeRecord, 'status'>) => (COMMUNICATED_STATUSES as NoticeStatus[]).includes(notice.status);

const byEmail: CodeableConcept[] = [{ coding: [{ system: Systems.participationMode, code: 'EMAILWRIT', display: 'email' }] }];

/** FHIR's category (a reminder, or a notification) and ours, the kind of mail. */
const categoryOf = (kind: NoticeKind): CodeableConcept[] => [
  { coding: [{ system: Systems.communicationCategory, code: kind === 'reminder' ? 'reminder' : 'notification' }] },
  { coding: [{ system: Systems.noticeKind, code: kind }] },
];

/** CommunicationRequest ← a reminder's notice; the due time is when it is to be sent. */
export function toFhirCommunicationRequest(notice: NoticeRecord): FhirCommunicationRequest {
  if (!isCommunicationRequest(notice)) throw new Error(`a ${notice.kind} notice is no CommunicationRequest`);
  const status = REQUEST_STATUS_OF[notice.status];
  return compact({
    resourceType: 'CommunicationRequest' as const,
    id: notice.id,
    meta: { lastUpdated: notice.updatedAt },
    text: narrative(`Reminder e-mail to the patient${notice.dueAt ? `, due ${readableTime(notice.dueAt)}` : ''}: ${status}`),
    status,
    // Why it was withdrawn: one of our own fixed phrases (the appointment was cancelled, moved…), no personal data.
    statusReason: status === 'revoked' && notice.lastError ? { text: notice.lastError } : undefined,
    category: categoryOf(notice.kind).slice(0, 1),
    medium: byEmail,
    subject: reference('Patient', notice.patientId),
    about: [reference('Appointment', notice.appointmentId)],
    occurrenceDateTime: notice.dueAt ?? undefined,
    authoredOn: notice.createdAt,
    recipient: [reference('Patient', notice.patientId)],
  });
}

/** Communication ← a notice that was sent (completed) or failed for good (not-done). */
export function toFhirCommunication(notice: NoticeRecord): FhirCommunication {
  if (notice.status !== 'sent' && notice.status !== 'failed') throw new Error(`a ${notice.status} notice is no Communication yet`);
  const status = COMMUNICATION_STATUS_OF[notice.status];
  return compact({
    resourceType: 'Communication' as const,
    id: notice.id,
    meta: { lastUpdated: notice.updatedAt },
    text: narrative(
      `${notice.kind.charAt(0).toUpperCase()}${notice.kind.slice(1)} e-mail to the patient: ${
        status === 'completed'
          ? `sent${notice.sentAt ? ` ${readableTime(notice.sentAt)}` : ''}`
          : 'not sent (the mail server did not accept it)'
      }`,
    ),
    basedOn: isCommunicationRequest(notice) ? [reference('CommunicationRequest', notice.id)] : undefined,
    status,
    // The mail server's own words may name the recipient: operators read them in GET /notifications, FHIR gets a code.
    statusReason:
      status === 'not-done'
        ? {
            coding: [{ system: Systems.communicationNotDoneReason, code: 'system-error', display: 'System Error' }],
            text: 'The mail was not accepted by the mail server within its attempts.',
          }
        : undefined,
    category: categoryOf(notice.kind),
    medium: byEmail,
    subject: reference('Patient', notice.patientId),
    about: [reference('Appointment', notice.appointmentId)],
    sent: status === 'completed' ? (notice.sentAt ?? undefined) : undefined,
    recipient: [reference('Patient', notice.patientId)],
  });
}
