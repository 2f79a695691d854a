import { appointmentPaid, cloudEventSchema, ContractViolation } from '@caregrid/contracts';
import { ApiRouter, DependencyUnavailableError, type Logger } from '@caregrid/platform';
import { z } from 'zod';
import type { Billing } from '../billing.js';
import type { InvoiceRepository } from '../data/invoice-repository.js';

// Dapr's subscriber contract: 200 with SUCCESS, RETRY (redeliver per Resiliency) or DROP (→ dead-letter topic).
const delivered = { 200: { description: 'Processed: { status: SUCCESS | RETRY | DROP }' } };

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
      responses: delivered,
      handler: async ({ body, res }) => {
        let event;
        try {
          event = appointmentPaid.parse(body);
        } catch (error) {
          if (!(error instanceof ContractViolation)) throw error;
          // Permanently bad: no number of retries fixes it. Logged, recorded, dropped to the dead-letter topic.
          const envelope = cloudEventSchema.safeParse(body);
          const id = envelope.success ? envelope.data.id : `unidentified-${Date.now()}`;
          logger.warn({ eventId: id, reason: error.message }, 'dropping a malformed appointment.paid to the dead-letter topic');
          await invoices.recordDropped({
            id,
            type: envelope.success ? envelope.data.type : undefined,
            payload: body,
            reason: error.message,
          });
          res.json({ status: 'DROP' });
          return;
        }
        try {
          const invoice = await billing.invoicePaidAppointment(event.data);
          logger.info({ eventId: event.id, invoice: invoice.number }, 'invoice for paid appointment');
          res.json({ status: 'SUCCESS' });
        } catch (error) {
          // Transient (database, sidecar): let Dapr redeliver.
          if (error instanceof DependencyUnavailableError) {
            logger.warn({ err: error, eventId: event.id }, 'invoice not created yet; asking for redelivery');
            res.json({ status: 'RETRY' });
            return;
          }
          throw error;
        }
      },
    })
    .add({
      method: 'post',
      path: '/events/ignored',
      summary: 'Other appointment events: not billing’s business',
      tags: ['events'],
      body: z.unknown(),
      responses: delivered,
      handler: ({ res }) => res.json({ status: 'SUCCESS' }),
    })
    .add({
      method: 'post',
      path: '/events/dead-letter',
      summary: 'Drains the dead-letter topic: records what arrived there',
      tags: ['events'],
      body: z.unknown(),
      responses: delivered,
      handler: async ({ body, res }) => {
        const envelope = cloudEventSchema.safeParse(body);
        const id = envelope.success ? envelope.data.id : `unidentified-${Date.now()}`;
        await invoices.recordDrained({ id, type: envelope.success ? envelope.data.type : undefined, payload: body });
        logger.warn({ eventId: id }, 'dead letter recorded');
        res.json({ status: 'SUCCESS' });
      },
    });
}
