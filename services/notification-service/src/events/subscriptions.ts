import {
  accountMailRequested,
  appointmentBooked,
  appointmentCancelled,
  appointmentPaid,
  appointmentRescheduled,
  eventContractsOf,
  Topics,
} from '@caregrid/contracts';
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
import type { NotificationUseCases } from '../use-cases.js';

/**
 * Routes of notification-service's declarative subscription (dapr/resources/subscriptions.yaml),
 * and `apply`, the same handlers by event type, for re-driving a dead letter. They only write
 * the ledger (and the reminder's job): a redelivery finds its notices there and adds nothing.
 * A database outage longer than the delivery retries parks appointment events in `deadLetters`:
 * they come back by themselves.
 */
export function subscriptions(deps: {
  notifications: NotificationUseCases;
  deadLetters: DeadLetterStore;
  logger: Logger;
}): ServiceSubscriptions {
  const { notifications, deadLetters, logger } = deps;
  const booked = deliveryOf(appointmentBooked, { logger, deadLetters, handle: (event) => notifications.booked(event.data) });
  const rescheduled = deliveryOf(appointmentRescheduled, { logger, deadLetters, handle: (event) => notifications.rescheduled(event.data) });
  const cancelled = deliveryOf(appointmentCancelled, { logger, deadLetters, handle: (event) => notifications.cancelled(event.data) });
  const paid = deliveryOf(appointmentPaid, { logger, deadLetters, handle: (event) => notifications.paid(event.data) });
  const accountMail = deliveryOf(accountMailRequested, {
    logger,
    deadLetters,
    handle: (event) => notifications.accountMailRequested(event.data),
  });
  const ignored = ignoreKnownTypes(eventContractsOf([Topics.appointments, Topics.accounts]), { logger, deadLetters });
  const routes = ApiRouter.forService('notification-service')
    .add(subscriptionRoute('/events/appointment-booked', 'appointment.booked → confirmation, reminder job', answerDelivery(booked), 1))
    .add(
      subscriptionRoute(
        '/events/appointment-rescheduled',
        'appointment.rescheduled → notice of the new time, the reminder job replaced',
        answerDelivery(rescheduled),
        1,
      ),
    )
    .add(
      subscriptionRoute(
        '/events/appointment-cancelled',
        'appointment.cancelled → cancellation notice, the reminder job deleted',
        answerDelivery(cancelled),
        1,
      ),
    )
    .add(subscriptionRoute('/events/appointment-paid', 'appointment.paid → receipt with a link to the invoice', answerDelivery(paid), 1))
    .add(
      subscriptionRoute(
        '/events/account-mail-requested',
        'account.mail-requested → the account mail (verify, reset, invite) with a link fetched when it is sent',
        answerDelivery(accountMail),
        1,
      ),
    )
    .add(subscriptionRoute('/events/ignored', 'Other appointment and account events: nothing to tell', answerDelivery(ignored), 1));
  return {
    routes,
    apply: eachOf(
      byEventType(
        {
          [appointmentBooked.type]: booked,
          [appointmentRescheduled.type]: rescheduled,
          [appointmentCancelled.type]: cancelled,
          [appointmentPaid.type]: paid,
          [accountMailRequested.type]: accountMail,
        },
        ignored,
      ),
    ),
    deadLetters,
  };
}
