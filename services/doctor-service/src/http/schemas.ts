import { z } from 'zod';
import { doctorRecord, publicDoctor, SPECIALIZATIONS } from '@caregrid/contracts';
import { pageQuerySchema, SELF_SERVICE_FIELDS } from '@caregrid/platform';
import { doctorInputSchema } from '../domain/doctor.js';

export const doctorBody = doctorInputSchema;
const own = SELF_SERVICE_FIELDS.doctor.fields;
/** RFC 7396 merge patch; may carry `version` for optimistic locking. */
export const doctorPatchBody = z
  .record(z.string(), z.unknown())
  .describe(
    `JSON merge patch of the doctor. Staff (admin) may change any field; a doctor on their own profile only ${own.slice(0, -1).join(', ')} and ${own.at(-1)} (any other member: 403, nothing changed).`,
  );
export const doctorParams = z.object({ id: z.uuid() });

export const doctorListQuery = z.strictObject({
  q: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .optional()
    .describe('The start of the name; for staff also of the email address (a search by email by anyone else is 403)'),
  specialization: z.enum(SPECIALIZATIONS).optional(),
  accepting: z
    .enum(['true', 'false'])
    .transform((value) => value === 'true')
    .optional(),
  ...pageQuerySchema,
});

/** Written records go back whole to their writer (staff, or the doctor themself). */
export const doctorResponse = doctorRecord;
/** A read answers the whole record to staff and the doctor themself, the public profile to everyone else. */
export const doctorReadResponse = z.union([doctorRecord, publicDoctor]);

export const doctorPage = z.object({ items: z.array(doctorReadResponse), nextCursor: z.string().nullable() });
