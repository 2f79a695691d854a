import { appointmentBooked, appointmentCancelled, eventContractsOf, Topics } from '@caregrid/contracts';
import {
  answerDelivery,
  ApiRouter,
  byEventType,
  deliveryOf,
  eachOf,
  ignoreKnownTypes,
  subscriptionRoute,
  type DeadLetterStore,
  type Logger,
  type ServiceSubscriptions,
} from '@caregrid/platform';
import type { PatientUseCases } from '../use-cases.js';

/**
 * Routes of patient-service's declarative subscription (dapr/resources/subscriptions.yaml):
 * a booking puts the patient in the doctor's care team, and the cancellation of the last
 * booking of the two that did not take place takes them out. Each appointment's state is kept
 * on its own and a cancellation is final, so a redelivery, a re-drive or an out-of-order
 * arrival ends in the same care team; a late event only delays it. `apply` dispatches by event
 * type as the routes do, for re-driving a dead letter: a care relation that could not be recorded
 * in time is parked in `deadLetters`, then re-driven by itself.
 */
export function subscriptions(deps: { patients: PatientUseCases; deadLetters: DeadLetterStore; logger: Logger }): ServiceSubscriptions {
  const { patients, deadLetters, logger } = deps;
  const appointmentWasBooked = deliveryOf(appointmentBooked, {
    logger,
    deadLetters,
    handle: async ({ data, time }) => {
      await patients.careAppointmentBooked(data, time);
    },
  });
  const appointmentWasCancelled = deliveryOf(appointmentCancelled, {
    logger,
    deadLetters,
    handle: async ({ data, time }) => {
      await patients.careAppointmentCancelled(data, time);
    },
  });
  const ignored = ignoreKnownTypes(eventContractsOf([Topics.appointments]), { logger, deadLetters });
  const routes = ApiRouter.forService('patient-service')
    .add(
      subscriptionRoute(
        '/events/appointment-booked',
        'appointment.booked → the doctor may see this patient (care team)',
        answerDelivery(appointmentWasBooked),
        1,
      ),
    )
    .add(
      subscriptionRoute(
        '/events/appointment-cancelled',
        'appointment.cancelled → this appointment no longer puts the patient in the doctor’s care team',
        answerDelivery(appointmentWasCancelled),
        1,
      ),
    )
    .add(subscriptionRoute('/events/ignored', 'Other appointment events: not patient-service’s business', answerDelivery(ignored), 1));
  return {
    routes,
    apply: eachOf(
      byEventType({ [appointmentBooked.type]: appointmentWasBooked, [appointmentCancelled.type]: appointmentWasCancelled }, ignored),
    ),
    deadLetters,
  };
}
