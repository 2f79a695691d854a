import { z } from 'zod';
import { AUDIT_ACTIONS, AUDIT_OUTCOMES, AUDITED_RESOURCES, patientRecord } from '@caregrid/contracts';
import { pageQuerySchema, SELF_SERVICE_FIELDS } from '@caregrid/platform';
import { patientInputSchema } from '../domain/patient.js';

export const patientBody = patientInputSchema;

const own = SELF_SERVICE_FIELDS.patient.fields;
/** RFC 7396 merge patch: any object; the merged result is validated as a whole. */
export const patientPatchBody = z
  .record(z.string(), z.unknown())
  .describe(
    `JSON merge patch of the patient. Staff may change any field; a patient on their own record only ${own.slice(0, -1).join(', ')} and ${own.at(-1)} (any other member: 403, nothing changed).`,
  );

export const patientParams = z.object({ id: z.uuid() });

export const patientListQuery = z.strictObject({
  q: z.string().trim().min(1).max(100).optional(),
  ...pageQuerySchema,
});

export const patientResponse = patientRecord;

export const patientPage = z.object({ items: z.array(patientResponse), nextCursor: z.string().nullable() });

export const accessLogQuery = z.strictObject({ ...pageQuerySchema });

export const accessLogPage = z.object({
  items: z.array(
    z.object({
      at: z.iso.datetime(),
      action: z.enum(AUDIT_ACTIONS),
      record: z.enum(AUDITED_RESOURCES),
      recordId: z.string().nullable(),
      outcome: z.enum(AUDIT_OUTCOMES),
      accessedBy: z.discriminatedUnion('kind', [
        z.object({ kind: z.literal('you') }),
        z.object({ kind: z.literal('doctor'), doctorId: z.string() }),
        z.object({ kind: z.literal('staff'), role: z.enum(['admin', 'receptionist']) }),
        z.object({ kind: z.literal('another-user') }),
        z.object({ kind: z.literal('clinic-system') }),
      ]),
    }),
  ),
  nextCursor: z.string().nullable(),
});
