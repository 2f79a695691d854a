import { appointmentPaid, eventContractsOf, Topics } from '@caregrid/contracts';
import {
  answerDelivery,
  ApiRouter,
  byEventType,
  deliveryOf,
  eachOf,
  ignoreKnownTypes,
  type DeadLetterStore,
  subscriptionRoute,
  type Logger,
  type ServiceSubscriptions,
} from '@caregrid/platform';
import type { BillingUseCases } from '../use-cases.js';

/**
 * Routes of the declarative subscriptions in dapr/resources/subscriptions.yaml,
 * and `apply`: the same handlers dispatched by event type as those routes are,
 * for re-driving a dead letter. A database outage longer than the delivery retries
 * parks paid appointments in `deadLetters`: they come back by themselves.
 */
export function subscriptions(deps: { billing: BillingUseCases; deadLetters: DeadLetterStore; logger: Logger }): ServiceSubscriptions {
  const { billing, deadLetters, logger } = deps;
  const appointmentWasPaid = deliveryOf(appointmentPaid, {
    logger,
    deadLetters,
    handle: async (event) => {
      const invoice = await billing.invoicePaidAppointment(event.data);
      logger.info({ eventId: event.id, invoice: invoice.number }, 'invoice for paid appointment');
    },
  });
  const ignored = ignoreKnownTypes(eventContractsOf([Topics.appointments]), { logger, deadLetters });
  const routes = ApiRouter.forService('billing-service')
    .add(
      subscriptionRoute(
        '/events/appointment-paid',
        'appointment.paid → one invoice per appointment',
        answerDelivery(appointmentWasPaid),
        1,
      ),
    )
    .add(subscriptionRoute('/events/ignored', 'Other appointment events: not billing’s business', answerDelivery(ignored), 1));
  return { routes, apply: eachOf(byEventType({ [appointmentPaid.type]: appointmentWasPaid }, ignored)), deadLetters };
}
