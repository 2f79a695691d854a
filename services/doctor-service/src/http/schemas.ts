import { z } from 'zod';
import { feesSchema, money, SPECIALIZATIONS } from '@caregrid/contracts';
import { pageQuerySchema } from '@caregrid/platform';
import { doctorInputSchema, workingHoursSchema } from '../domain/doctor.js';

export const doctorBody = doctorInputSchema;
/** RFC 7396 merge patch; may carry `version` for optimistic locking. */
export const doctorPatchBody = z
  .record(z.string(), z.unknown())
  .describe(
    'JSON merge patch of the doctor. Staff (admin) may change any field; a doctor on their own profile only phone, workingHours and accepting (any other member: 403, nothing changed).',
  );
export const doctorParams = z.object({ id: z.uuid() });

export const doctorListQuery = z.strictObject({
  q: z.string().trim().min(1).max(100).optional(),
  specialization: z.enum(SPECIALIZATIONS).optional(),
  accepting: z
    .enum(['true', 'false'])
    .transform((value) => value === 'true')
    .optional(),
  ...pageQuerySchema,
});

export const doctorResponse = z.object({
  id: z.uuid(),
  name: z.string(),
  email: z.string(),
  phone: z.string().nullable(),
  specialization: z.enum(SPECIALIZATIONS),
  licenseNumber: z.string(),
  yearsOfExperience: z.number().int(),
  hospitalName: z.string(),
  department: z.string(),
  accepting: z.boolean(),
  workingHours: workingHoursSchema,
  slotMinutes: z.number().int(),
  timeZone: z.string(),
  fees: feesSchema.describe('Price per service type in integer minor units of currency; a type left out is not bookable'),
  currency: money.currency,
  version: z.number().int(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

export const doctorPage = z.object({ items: z.array(doctorResponse), nextCursor: z.string().nullable() });
