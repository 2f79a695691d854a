import { appointmentBooked } from '@caregrid/contracts';
import {
  answerDelivery,
  ApiRouter,
  byEventType,
  deliveryOf,
  ignoreEvent,
  subscriptionRoute,
  type EventHandler,
  type Logger,
} from '@caregrid/platform';
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
    .add(
      subscriptionRoute(
        '/events/appointment-booked',
        'appointment.booked → the doctor may see this patient (care team)',
        answerDelivery(appointmentWasBooked),
        1,
      ),
    )
    .add(subscriptionRoute('/events/ignored', 'Other appointment events: not patient-service’s business', answerDelivery(ignoreEvent), 1));
  return { routes, handle: byEventType({ [appointmentBooked.type]: appointmentWasBooked }) };
}
