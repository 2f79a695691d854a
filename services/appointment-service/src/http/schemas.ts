import { z } from 'zod';
import { APPOINTMENT_STATUSES, money, PAYMENT_METHODS, SERVICE_TYPES } from '@caregrid/contracts';
import { calendarDate, pageQuerySchema, timestamp } from '@caregrid/platform';

// Named (not just left out of a strict object) so the 400 points at the field and the OpenAPI document says why.
const refused = (field: string) =>
  z
    .never({ error: `refused: the ${field} comes from the doctor's tariff, not from the client` })
    .optional()
    .describe(`Refused (400): the ${field} is set from the doctor's tariff for the service type.`);

export const bookingBody = z
  .strictObject({
    patientId: z.uuid(),
    doctorId: z.uuid(),
    start: timestamp,
    end: timestamp.optional(),
    durationMinutes: z.number().int().min(5).max(720).optional(),
    serviceType: z.enum(SERVICE_TYPES),
    reason: z.string().trim().min(1).max(1000).optional(),
    amount: refused('amount'),
    currency: refused('currency'),
  })
  .refine((b) => (b.end === undefined) !== (b.durationMinutes === undefined), {
    message: 'give either end or durationMinutes',
    path: ['end'],
  })
  .describe(
    "A booking request. The price is the clinic's: amount and currency are taken from the doctor's tariff (fees[serviceType]); a client that sends them is refused (400).",
  );

export const idParams = z.object({ id: z.uuid() });

export const listQuery = z.strictObject({
  patientId: z.uuid().optional(),
  doctorId: z.uuid().optional(),
  status: z.enum(APPOINTMENT_STATUSES).optional(),
  from: timestamp.optional(),
  to: timestamp.optional(),
  ...pageQuerySchema,
});

export const slotsQuery = z.strictObject({ doctorId: z.uuid(), date: calendarDate });
export const statusBody = z.strictObject({ status: z.enum(APPOINTMENT_STATUSES), reason: z.string().trim().max(1000).optional() });
export const paymentBody = z.strictObject({ method: z.enum(PAYMENT_METHODS), amount: money.amount });

export const appointmentResponse = z.object({
  id: z.uuid(),
  patientId: z.uuid(),
  doctorId: z.uuid(),
  patientName: z.string(),
  doctorName: z.string(),
  specialization: z.string(),
  start: z.iso.datetime(),
  end: z.iso.datetime(),
  serviceType: z.enum(SERVICE_TYPES),
  reason: z.string().nullable(),
  ...money,
  status: z.enum(APPOINTMENT_STATUSES),
  cancellationReason: z.string().nullable(),
  payment: z.object({ method: z.enum(PAYMENT_METHODS), amount: z.number().int(), paidAt: z.iso.datetime() }).nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export const appointmentPage = z.object({ items: z.array(appointmentResponse), nextCursor: z.string().nullable() });
export const slotsResponse = z.object({
  doctorId: z.uuid(),
  date: z.iso.date(),
  slots: z.array(z.object({ start: z.iso.datetime(), end: z.iso.datetime() })),
});
export const cleanupResponse = z.object({ ran: z.boolean(), archived: z.number().int(), runId: z.uuid().optional() });
