import { z } from 'zod';
import { defineEvent, Topics } from './core.js';

export const SPECIALIZATIONS = [
  'cardiology',
  'dermatology',
  'neurology',
  'orthopedics',
  'pediatrics',
  'psychiatry',
  'radiology',
  'surgery',
  'urology',
  'general-practice',
] as const;

const doctorSnapshot = z.object({
  doctorId: z.uuid(),
  name: z.string(),
  email: z.string(),
  specialization: z.enum(SPECIALIZATIONS),
  hospitalName: z.string(),
  department: z.string(),
  accepting: z.boolean(),
  slotMinutes: z.number().int(),
  timeZone: z.string(),
  version: z.number().int(),
});

export const doctorCreated = defineEvent({ aggregate: 'doctor', verb: 'created', topic: Topics.doctors, data: doctorSnapshot });
export const doctorUpdated = defineEvent({ aggregate: 'doctor', verb: 'updated', topic: Topics.doctors, data: doctorSnapshot });
export const doctorDeleted = defineEvent({
  aggregate: 'doctor',
  verb: 'deleted',
  topic: Topics.doctors,
  data: z.object({ doctorId: z.uuid() }),
});

export type DoctorSnapshot = z.infer<typeof doctorSnapshot>;
