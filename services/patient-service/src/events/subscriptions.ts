import { appointmentBooked } from '@caregrid/contracts';
import { ApiRouter, DELIVERY_RESPONSES, deliveryOf, type Logger } from '@caregrid/platform';
import { z } from 'zod';
import type { PatientRepository } from '../data/patient-repository.js';

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
      responses: DELIVERY_RESPONSES,
      handler: deliveryOf(appointmentBooked, {
        logger,
        handle: async ({ data, time }) => {
          await patients.addCareRelation({
            patientId: data.patientId,
            doctorId: data.doctorId,
            appointmentId: data.appointmentId,
            since: time ?? data.start,
          });
        },
      }),
    })
    .add({
      method: 'post',
      path: '/events/ignored',
      summary: 'Other appointment events: not patient-service’s business',
      tags: ['events'],
      body: z.unknown(),
      responses: DELIVERY_RESPONSES,
      handler: ({ res }) => res.json({ status: 'SUCCESS' }),
    });
}
