import type { FreeSlots } from '@caregrid/contracts';
import type { ServiceType } from './records.js';
import { serviceTypeConcept, specialtyConcept } from './terminology.js';
import { narrative, readableSpan } from './narrative.js';
import { compact, reference, type Resource } from './systems.js';

export type FhirSlot = Resource & { resourceType: 'Slot'; id: string; status: 'free' };
export type FhirSchedule = Resource & { resourceType: 'Schedule'; id: string };

/**
 * Slots are computed, not stored (a doctor's working hours on their slot grid
 * minus what is booked), so their id is made from what identifies one: the
 * doctor and the start, `<doctorId>.<yyyymmddhhmm UTC>` (FHIR ids allow
 * letters, digits, `-` and `.`, up to 64).
 */
export function slotId(doctorId: string, start: string): string {
  return `${doctorId}.${new Date(start).toISOString().slice(0, 16).replace(/[-T:]/g, '')}`;
}

export function parseSlotId(id: string): { doctorId: string; start: string } | undefined {
  const match = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})$/i.exec(id);
  if (!match) return undefined;
  const [, doctorId, y, mo, d, h, mi] = match;
  const start = new Date(`${y}-${mo}-${d}T${h}:${mi}:00Z`);
  if (Number.isNaN(start.getTime()) || start.toISOString().slice(0, 16) !== `${y}-${mo}-${d}T${h}:${mi}`) return undefined;
  return { doctorId: doctorId!.toLowerCase(), start: start.toISOString() };
}

/**
 * Each practitioner has one schedule, with the practitioner's id: Slot.schedule
 * is `Schedule/<doctorId>` and `Slot?schedule.actor=Practitioner/<id>` names it.
 * Active while the doctor accepts appointments; the planning horizon, when
 * given, is what can be booked (now to the booking horizon).
 */
export function toFhirSchedule(
  doctor: { id: string; name: string; specialization?: string; accepting?: boolean },
  planningHorizon?: { start: string; end: string },
): FhirSchedule {
  return compact({
    resourceType: 'Schedule' as const,
    id: doctor.id,
    text: narrative(`Schedule of ${doctor.name}`),
    active: doctor.accepting,
    specialty: doctor.specialization === undefined ? undefined : [specialtyConcept(doctor.specialization)],
    actor: [reference('Practitioner', doctor.id, doctor.name)],
    planningHorizon,
  });
}

/**
 * Slot ← one free slot of appointment-service's `GET /appointments/slots` (only free ones exist
 * there); `serviceTypes`, when known, are what it can be booked for (the doctor's tariff).
 */
export function toFhirSlot(
  doctor: { id: string; name?: string; specialization?: string; serviceTypes?: readonly ServiceType[] },
  slot: { start: string; end: string },
): FhirSlot {
  return compact({
    resourceType: 'Slot' as const,
    id: slotId(doctor.id, slot.start),
    text: narrative(`Free${doctor.name === undefined ? '' : ` with ${doctor.name}`}: ${readableSpan(slot.start, slot.end)}`),
    serviceType: doctor.serviceTypes?.map((type) => serviceTypeConcept(type)),
    specialty: doctor.specialization === undefined ? undefined : [specialtyConcept(doctor.specialization)],
    schedule: reference('Schedule', doctor.id, doctor.name === undefined ? undefined : `Schedule of ${doctor.name}`),
    status: 'free' as const,
    start: slot.start,
    end: slot.end,
  });
}

/** All free slots of one answer of the free-slots route. */
export function toFhirSlots(free: FreeSlots, doctor: { name?: string; specialization?: string } = {}): FhirSlot[] {
  return free.slots.map((slot) => toFhirSlot({ id: free.doctorId, ...doctor }, slot));
}
