import { appointmentPaid, cloudEventSchema } from '@caregrid/contracts';
import { ApiRouter, DELIVERY_RESPONSES, deliveryOf, type Logger } from '@caregrid/platform';
import { z } from 'zod';
import type { Billing } from '../billing.js';
import type { InvoiceRepository } from '../data/invoice-repository.js';

/** Routes of the declarative subscriptions in dapr/resources/subscriptions.yaml. */
export function subscriptionRoutes(deps: { billing: Billing; invoices: InvoiceRepository; logger: Logger }): ApiRouter {
  const { billing, invoices, logger } = deps;
  return ApiRouter.forService('billing-service')
    .add({
      method: 'post',
      path: '/events/appointment-paid',
      summary: 'appointment.paid → one invoice per appointment',
      tags: ['events'],
      body: z.unknown(),
      responses: DELIVERY_RESPONSES,
      handler: deliveryOf(appointmentPaid, {
        logger,
        handle: async (event) => {
          const invoice = await billing.invoicePaidAppointment(event.data);
          logger.info({ eventId: event.id, invoice: invoice.number }, 'invoice for paid appointment');
        },
        // Permanently bad: no number of retries fixes it. Recorded before it goes to the dead-letter topic.
        onMalformed: (dropped) => invoices.recordDropped(dropped),
      }),
    })
    .add({
      method: 'post',
      path: '/events/ignored',
      summary: 'Other appointment events: not billing’s business',
      tags: ['events'],
      body: z.unknown(),
      responses: DELIVERY_RESPONSES,
      handler: ({ res }) => res.json({ status: 'SUCCESS' }),
    })
    .add({
      method: 'post',
      path: '/events/dead-letter',
      summary: 'Drains the dead-letter topic: records what arrived there',
      tags: ['events'],
      body: z.unknown(),
      responses: DELIVERY_RESPONSES,
      handler: async ({ body, res }) => {
        const envelope = cloudEventSchema.safeParse(body);
        const id = envelope.success ? envelope.data.id : `unidentified-${Date.now()}`;
        await invoices.recordDrained({ id, type: envelope.success ? envelope.data.type : undefined, payload: body });
        logger.warn({ eventId: id }, 'dead letter recorded');
        res.json({ status: 'SUCCESS' });
      },
    });
}
