import { z } from 'zod';
import { NOTICE_KINDS, NOTICE_STATUSES } from '@caregrid/contracts';
import { ApiRouter, NotFoundError } from '@caregrid/platform';
import {
  COMMUNICATED_STATUSES,
  FHIR_JSON,
  isCommunication,
  isCommunicationRequest,
  pageLinks,
  REQUESTED_KINDS,
  searchSchemas,
  searchset,
  toFhirCommunication,
  toFhirCommunicationRequest,
} from '@caregrid/fhir';
import { publicRequestUrl, sendCount, sendResource } from '@caregrid/fhir/http';
import type { NotificationUseCases } from '../use-cases.js';

const outcome = (description: string) => ({ description: `${description} (OperationOutcome)`, contentType: FHIR_JSON });
const idParams = z.object({ id: z.uuid() });

/**
 * FHIR R4 CommunicationRequest (a reminder, from scheduled to sent or revoked) and Communication
 * (a mail sent, or given up on) over the ledger, under the access model of `GET /notifications`:
 * staff see all, a patient the mail about their own appointments, a doctor about theirs.
 */
export function notificationFhirRoutes(notifications: NotificationUseCases): ApiRouter {
  return ApiRouter.forService('notification-service')
    .add({
      method: 'get',
      path: '/fhir/CommunicationRequest',
      summary: 'FHIR CommunicationRequest search (patient or subject, about, status): appointment reminders, only your own as a patient',
      tags: ['fhir'],
      query: searchSchemas.CommunicationRequest,
      responses: { 200: { description: 'searchset Bundle', contentType: FHIR_JSON }, 400: outcome('Bad parameter') },
      handler: async ({ query, caller, req, res }) => {
        const { patientId, appointmentId, statuses, count, cursor } = query;
        const page = await notifications.searchNotices(
          caller,
          { kinds: REQUESTED_KINDS, statuses: statuses ?? NOTICE_STATUSES, patientId, appointmentId },
          { limit: count, cursor },
        );
        if (query.summary === 'count') {
          sendCount(req, res, page.total);
          return;
        }
        const bundle = searchset(page.items.map(toFhirCommunicationRequest), {
          total: page.total,
          ...pageLinks(publicRequestUrl(req), page.nextCursor),
        });
        sendResource(res, bundle);
      },
    })
    .add({
      method: 'get',
      path: '/fhir/CommunicationRequest/:id',
      summary: 'FHIR CommunicationRequest read: an appointment reminder',
      tags: ['fhir'],
      params: idParams,
      responses: { 200: { description: 'CommunicationRequest', contentType: FHIR_JSON }, 404: outcome('No such reminder (or not yours)') },
      handler: async ({ params, caller, res }) => {
        const notice = await notifications.readNotice(caller, params.id);
        if (!isCommunicationRequest(notice)) throw new NotFoundError('CommunicationRequest', params.id);
        sendResource(res, toFhirCommunicationRequest(notice));
      },
    })
    .add({
      method: 'get',
      path: '/fhir/Communication',
      summary:
        'FHIR Communication search (patient or subject, about, based-on, status): mail sent about appointments, only your own as a patient',
      tags: ['fhir'],
      query: searchSchemas.Communication,
      responses: { 200: { description: 'searchset Bundle', contentType: FHIR_JSON }, 400: outcome('Bad parameter') },
      handler: async ({ query, caller, req, res }) => {
        const { patientId, appointmentId, requestId, statuses, count, cursor } = query;
        const page = await notifications.searchNotices(
          caller,
          {
            // based-on names a reminder: the Communication of the same id.
            kinds: requestId ? REQUESTED_KINDS : NOTICE_KINDS,
            statuses: statuses ?? COMMUNICATED_STATUSES,
            patientId,
            appointmentId,
            id: requestId,
          },
          { limit: count, cursor },
        );
        if (query.summary === 'count') {
          sendCount(req, res, page.total);
          return;
        }
        const bundle = searchset(page.items.map(toFhirCommunication), {
          total: page.total,
          ...pageLinks(publicRequestUrl(req), page.nextCursor),
        });
        sendResource(res, bundle);
      },
    })
    .add({
      method: 'get',
      path: '/fhir/Communication/:id',
      summary: 'FHIR Communication read: a mail sent (completed) or given up on (not-done)',
      tags: ['fhir'],
      params: idParams,
      responses: {
        200: { description: 'Communication', contentType: FHIR_JSON },
        404: outcome('Not sent (yet), no such notice, or not yours'),
      },
      handler: async ({ params, caller, res }) => {
        const notice = await notifications.readNotice(caller, params.id);
        if (!isCommunication(notice)) throw new NotFoundError('Communication', params.id);
        sendResource(res, toFhirCommunication(notice));
      },
    });
}
