import { appointmentPaid } from '@caregrid/contracts';
import {
  answerDelivery,
  ApiRouter,
  byEventType,
  deliveryOf,
  ignoreEvent,
  type DeadLetterStore,
  subscriptionRoute,
  type EventHandler,
  type Logger,
} from '@caregrid/platform';
import type { Billing } from '../billing.js';

/**
 * Routes of the declarative subscriptions in dapr/resources/subscriptions.yaml,
 * and `handle`: the same handlers dispatched by event type as those routes are,
 * for re-driving a dead letter.
 */
export function subscriptions(deps: { billing: Billing; deadLetters: DeadLetterStore; logger: Logger }): {
  routes: ApiRouter;
  handle: EventHandler;
} {
  const { billing, deadLetters, logger } = deps;
  const appointmentWasPaid = deliveryOf(appointmentPaid, {
    logger,
    handle: async (event) => {
      const invoice = await billing.invoicePaidAppointment(event.data);
      logger.info({ eventId: event.id, invoice: invoice.number }, 'invoice for paid appointment');
    },
    // Permanently bad: no number of retries fixes it. Its reason is noted before it goes to the dead-letter topic.
    onMalformed: ({ payload, ...dropped }) => deadLetters.noteDropped({ ...dropped, event: payload }),
  });
  const routes = ApiRouter.forService('billing-service')
    .add(
      subscriptionRoute(
        '/events/appointment-paid',
        'appointment.paid → one invoice per appointment',
        answerDelivery(appointmentWasPaid),
        1,
      ),
    )
    .add(subscriptionRoute('/events/ignored', 'Other appointment events: not billing’s business', answerDelivery(ignoreEvent), 1));
  return { routes, handle: byEventType({ [appointmentPaid.type]: appointmentWasPaid }) };
}
