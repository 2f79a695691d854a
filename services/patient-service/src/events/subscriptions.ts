import { appointmentBooked, cloudEventSchema, ContractViolation } from '@caregrid/contracts';
import { ApiRouter, type Logger } from '@caregrid/platform';
import { z } from 'zod';
import type { PatientRepository } from '../data/patient-repository.js';

// Dapr's subscriber contract: 200 with SUCCESS, RETRY (redeliver per Resiliency) or DROP (→ dead-letter topic).
const delivered = { 200: { description: 'Processed: { status: SUCCESS | RETRY | DROP }' } };

/**
 * Routes of patient-service's declarative subscription (dapr/resources/subscriptions.yaml):
 * a booking puts the patient in the doctor's care team. Idempotent, so a
 * redelivery or an out-of-order arrival changes nothing; a late one only
 * delays when the doctor sees the patient.
 */
export function subscriptionRoutes(deps: { patients: PatientRepository; logger: Logger }): ApiRouter {
  const { patients, logger } = deps;
  return ApiRouter.forService('patient-service')
    .add({
      method: 'post',
      path: '/events/appointment-booked',
      summary: 'appointment.booked → the doctor may see this patient (care team)',
      tags: ['events'],
      body: z.unknown(),
      responses: delivered,
      handler: async ({ body, res }) => {
        let event;
        try {
          event = appointmentBooked.parse(body);
        } catch (error) {
          if (!(error instanceof ContractViolation)) throw error;
          const envelope = cloudEventSchema.safeParse(body);
          logger.warn(
            { eventId: envelope.success ? envelope.data.id : undefined, reason: error.message },
            'dropping a malformed appointment.booked',
          );
          res.json({ status: 'DROP' });
          return;
        }
        const { patientId, doctorId, appointmentId, start } = event.data;
        try {
          await patients.addCareRelation({ patientId, doctorId, appointmentId, since: event.time ?? start });
        } catch (error) {
          logger.warn({ err: error, eventId: event.id }, 'care relation not stored yet; asking for redelivery');
          res.json({ status: 'RETRY' });
          return;
        }
        res.json({ status: 'SUCCESS' });
      },
    })
    .add({
      method: 'post',
      path: '/events/ignored',
      summary: 'Other appointment events: not patient-service’s business',
      tags: ['events'],
      body: z.unknown(),
      responses: delivered,
      handler: ({ res }) => res.json({ status: 'SUCCESS' }),
    });
}
