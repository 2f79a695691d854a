import { appointmentBooked } from '@caregrid/contracts';
import {
  answerDelivery,
  ApiRouter,
  byEventType,
  DELIVERY_RESPONSES,
  deliveryOf,
  ignoreEvent,
  type EventHandler,
  type Logger,
} from '@caregrid/platform';
import { z } from 'zod';
import type { PatientRepository } from '../data/patient-repository.js';

/**
 * Routes of patient-service's declarative subscription (dapr/resources/subscriptions.yaml):
 * a booking puts the patient in the doctor's care team. Idempotent, so a
 * redelivery, a re-drive or an out-of-order arrival changes nothing; a late one
 * only delays when the doctor sees the patient. `handle` dispatches by event
 * type as the routes do, for re-driving a dead letter.
 */
export function subscriptions(deps: { patients: PatientRepository; logger: Logger }): { routes: ApiRouter; handle: EventHandler } {
  const { patients, logger } = deps;
  const appointmentWasBooked = deliveryOf(appointmentBooked, {
    logger,
    handle: async ({ data, time }) => {
      await patients.addCareRelation({
        patientId: data.patientId,
        doctorId: data.doctorId,
        appointmentId: data.appointmentId,
        since: time ?? data.start,
      });
    },
  });
  const routes = ApiRouter.forService('patient-service')
    .add({
      method: 'post',
      path: '/events/appointment-booked',
      summary: 'appointment.booked → the doctor may see this patient (care team)',
      tags: ['events'],
      body: z.unknown(),
      responses: DELIVERY_RESPONSES,
      handler: answerDelivery(appointmentWasBooked),
    })
    .add({
      method: 'post',
      path: '/events/ignored',
      summary: 'Other appointment events: not patient-service’s business',
      tags: ['events'],
      body: z.unknown(),
      responses: DELIVERY_RESPONSES,
      handler: answerDelivery(ignoreEvent),
    });
  return { routes, handle: byEventType({ [appointmentBooked.type]: appointmentWasBooked }) };
}
