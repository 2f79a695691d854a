import { z } from 'zod';
import {
  APPOINTMENT_STATUSES,
  appointmentRecord,
  bookingRequest,
  freeSlots,
  money,
  PAYMENT_METHODS,
  SERVICE_TYPES,
  rescheduleRequest,
  statusChangeRequest,
} from '@caregrid/contracts';
import { calendarDate, pageQuerySchema, timestamp } from '@caregrid/platform';

export const bookingBody = bookingRequest;

export const idParams = z.object({ id: z.uuid() });

export const listQuery = z.strictObject({
  patientId: z.uuid().optional(),
  doctorId: z.uuid().optional(),
  status: z.enum(APPOINTMENT_STATUSES).optional(),
  serviceType: z.enum(SERVICE_TYPES).optional(),
  from: timestamp.optional(),
  to: timestamp.optional(),
  ...pageQuerySchema,
});

export const slotsQuery = z.strictObject({ doctorId: z.uuid(), date: calendarDate });
export const statusBody = statusChangeRequest;
export const rescheduleBody = rescheduleRequest;
export const paymentBody = z.strictObject({ method: z.enum(PAYMENT_METHODS), amount: money.amount });

export const appointmentResponse = appointmentRecord;
export const appointmentPage = z.object({ items: z.array(appointmentResponse), nextCursor: z.string().nullable() });
export const slotsResponse = freeSlots;
export const cleanupResponse = z.object({ ran: z.boolean(), archived: z.number().int(), runId: z.uuid().optional() });
