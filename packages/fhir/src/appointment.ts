import { z } from 'zod';
import {
  APPOINTMENT_STATUSES,
  bookingRequest,
  SERVICE_TYPES,
  statusChangeRequest,
  type AppointmentRecord,
  type BookingRequest,
  type StatusChangeRequest,
} from '@caregrid/contracts';
import { instant } from './dates.js';
import { narrative, readableSpan } from './narrative.js';
import type { AppointmentStatus, ServiceType } from './records.js';
import { parseSlotId } from './slot.js';
import { compact, parseReference, reference, Systems, type Resource } from './systems.js';
import { serviceTypeConcept, serviceTypeOfCode, specialtyConcept } from './terminology.js';

export type FhirAppointment = Resource & { resourceType: 'Appointment'; id: string; status: AppointmentStatus };

/** Our lifecycle is FHIR's, code for code (booked → checked-in → fulfilled; booked → cancelled | noshow). */
export const toFhirStatus = (status: AppointmentStatus): AppointmentStatus => status;

/** The FHIR R4 appointment statuses we have no state for. */
export const UNSUPPORTED_FHIR_STATUSES = ['proposed', 'pending', 'arrived', 'entered-in-error', 'waitlist'] as const;

const capitalized = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);

const minutesBetween = (start: string, end: string) => Math.round((Date.parse(end) - Date.parse(start)) / 60_000);

/**
 * Appointment ← appointment-service's record. The price is not an Appointment
 * element (the Invoice has it); the payment is billing's (Invoice status).
 */
export function toFhirAppointment(appointment: AppointmentRecord): FhirAppointment {
  return compact({
    resourceType: 'Appointment' as const,
    id: appointment.id,
    meta: { lastUpdated: appointment.updatedAt },
    text: narrative(
      `${capitalized(appointment.serviceType)} of ${appointment.patientName} with ${appointment.doctorName}, ${readableSpan(appointment.start, appointment.end)}: ${appointment.status}`,
    ),
    status: toFhirStatus(appointment.status),
    cancelationReason:
      appointment.status === 'cancelled' && appointment.cancellationReason !== null ? { text: appointment.cancellationReason } : undefined,
    serviceType: [serviceTypeConcept(appointment.serviceType)],
    specialty: [specialtyConcept(appointment.specialization)],
    reasonCode: appointment.reason === null ? undefined : [{ text: appointment.reason }],
    start: appointment.start,
    end: appointment.end,
    minutesDuration: minutesBetween(appointment.start, appointment.end),
    created: appointment.createdAt,
    participant: [
      { actor: reference('Patient', appointment.patientId, appointment.patientName), required: 'required', status: 'accepted' },
      { actor: reference('Practitioner', appointment.doctorId, appointment.doctorName), required: 'required', status: 'accepted' },
    ],
  });
}

// ---------------------------------------------------------------------------
// Inbound: what the API accepts as FHIR, mapped to the commands of the JSON API.
// Errors are zod errors at `body.<FHIR path>`, which the platform answers as a
// 400 problem (and operation-outcome.ts as an OperationOutcome).

/** appointment-service's `POST /appointments` body, as a FHIR booking becomes it. */
export type BookingCommand = BookingRequest;

/** appointment-service's `POST /appointments/{id}/status` body. */
export type StatusCommand = StatusChangeRequest;

const coding = z.looseObject({ system: z.string().optional(), code: z.string().optional(), display: z.string().optional() });
const codeableConcept = z.looseObject({ coding: z.array(coding).optional(), text: z.string().optional() });

const participant = z.looseObject({
  actor: z.looseObject({ reference: z.string({ error: 'a participant needs actor.reference (Patient/<id> or Practitioner/<id>)' }) }),
  status: z.string().optional(),
});

const fhirStatus = z.string().superRefine((status, ctx) => {
  if ((UNSUPPORTED_FHIR_STATUSES as readonly string[]).includes(status)) {
    ctx.addIssue({ code: 'custom', message: `status ${status} is not supported here; ours are ${APPOINTMENT_STATUSES.join(', ')}` });
  } else if (!(APPOINTMENT_STATUSES as readonly string[]).includes(status)) {
    ctx.addIssue({ code: 'custom', message: `${status} is not an appointment status (${APPOINTMENT_STATUSES.join(', ')})` });
  }
});

/** Elements a client may send and we read, and those we accept but ignore (derived by us or informational). */
const READ = ['resourceType', 'status', 'participant', 'start', 'end', 'minutesDuration', 'serviceType', 'reasonCode', 'cancelationReason'];
const IGNORED = ['id', 'meta', 'text', 'extension', 'created', 'specialty'];
/** A booking also reads `slot` (the slot it takes); a stored appointment has none to change. */
const READ_BY_BOOKING = [...READ, 'slot'];

function refuseUnmapped(resource: Record<string, unknown>, ctx: z.RefinementCtx, read = READ) {
  for (const element of Object.keys(resource)) {
    if (read.includes(element) || IGNORED.includes(element)) continue;
    ctx.addIssue({
      code: 'custom',
      path: [element],
      message:
        element === 'modifierExtension'
          ? 'modifier extensions are not understood here (and may not be ignored)'
          : `Appointment.${element} cannot be mapped to a CareGrid appointment (supported: ${read.slice(1).join(', ')})`,
    });
  }
}

const appointmentShape = z
  .looseObject({
    resourceType: z.literal('Appointment', { error: 'resourceType must be Appointment' }),
    status: fhirStatus,
    participant: z.array(participant).min(1, 'participant needs the patient and the practitioner'),
    start: instant,
    end: instant.optional(),
    minutesDuration: z.number().int().min(5).max(720).optional(),
    serviceType: z.array(codeableConcept).length(1, 'exactly one serviceType').optional(),
    reasonCode: z.array(codeableConcept).max(1, 'at most one reasonCode').optional(),
    cancelationReason: codeableConcept.optional(),
  })
  .superRefine((resource, ctx) => refuseUnmapped(resource, ctx));

type ParsedAppointment = z.output<typeof appointmentShape>;

const conceptText = (concept: z.output<typeof codeableConcept> | undefined) =>
  (concept?.text ?? concept?.coding?.find((c) => c.display)?.display ?? concept?.coding?.find((c) => c.code)?.code)?.trim() || undefined;

/**
 * The patient and the practitioner among the participants: exactly one of each (a PractitionerRole
 * has its doctor's id); the practitioner may be left out when a slot names them.
 */
function participants(
  resource: Pick<ParsedAppointment, 'participant'>,
  ctx: z.RefinementCtx,
  practitionerRequired = true,
): { patientId?: string; doctorId?: string } {
  const found: { patientId?: string; doctorId?: string } = {};
  resource.participant.forEach((p, index) => {
    const path = ['participant', index, 'actor', 'reference'];
    const ref = parseReference(p.actor.reference);
    if (!ref || !['Patient', 'Practitioner', 'PractitionerRole'].includes(ref.type)) {
      ctx.addIssue({
        code: 'custom',
        path,
        message: 'must be Patient/<id>, Practitioner/<id> or PractitionerRole/<id> with a CareGrid id',
      });
      return;
    }
    if (p.status === 'declined') {
      ctx.addIssue({ code: 'custom', path: ['participant', index, 'status'], message: 'a declined participant cannot be booked' });
    }
    const key = ref.type === 'Patient' ? 'patientId' : 'doctorId';
    if (found[key] !== undefined) {
      ctx.addIssue({ code: 'custom', path, message: `only one ${key === 'patientId' ? 'patient' : 'practitioner'} per appointment` });
    }
    found[key] = ref.id;
  });
  if (found.patientId === undefined) ctx.addIssue({ code: 'custom', path: ['participant'], message: 'no Patient participant' });
  if (found.doctorId === undefined && practitionerRequired)
    ctx.addIssue({ code: 'custom', path: ['participant'], message: 'no Practitioner participant' });
  return found;
}

/** Our service type in a concept: our coding decides when there is one, else HL7's code of one of ours. */
function serviceTypeIn(concept: z.output<typeof codeableConcept> | undefined): ServiceType | undefined {
  const codings = concept?.coding ?? [];
  const ours = codings.find((c) => c.system === Systems.serviceType);
  if (ours) return serviceTypeOfCode(Systems.serviceType, ours.code ?? '');
  return codings.map((c) => (c.system === undefined ? undefined : serviceTypeOfCode(c.system, c.code ?? ''))).find((type) => !!type);
}

function serviceTypeOf(resource: Pick<ParsedAppointment, 'serviceType'>, ctx: z.RefinementCtx): ServiceType | undefined {
  const found = serviceTypeIn(resource.serviceType?.[0]);
  if (found) return found;
  ctx.addIssue({
    code: 'custom',
    path: ['serviceType'],
    message: `needs a coding of ${Systems.serviceType}: one of ${SERVICE_TYPES.join(', ')} (or of ${Systems.hl7ServiceType} for one of them)`,
  });
  return undefined;
}

/** Where a JSON API field comes from in an Appointment, for an issue the contract finds. */
const FHIR_PATHS: Record<string, (string | number)[]> = {
  patientId: ['participant'],
  doctorId: ['participant'],
  durationMinutes: ['minutesDuration'],
  reason: ['reasonCode', 0, 'text'],
};

/**
 * A command as the JSON API's contract parses it (its limits: a reason of at most 1,000
 * characters, ids, lengths), so a FHIR client gets no more room than a JSON one; the contract's
 * issues land at the FHIR element they came from.
 */
function asContract<T extends z.ZodType>(contract: T, command: unknown, ctx: z.RefinementCtx): z.output<T> | typeof z.NEVER {
  const parsed = contract.safeParse(command);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    const field = issue.path[0];
    ctx.addIssue({ code: 'custom', path: (typeof field === 'string' && FHIR_PATHS[field]) || issue.path, message: issue.message });
  }
  return z.NEVER;
}

const bookingShape = appointmentShape.transform((body, ctx): BookingCommand => {
  if (body.status !== 'booked') {
    ctx.addIssue({ code: 'custom', path: ['status'], message: 'a new appointment must have status booked' });
  }
  if (body.cancelationReason !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['cancelationReason'], message: 'a new appointment has no cancelationReason' });
  }
  const { patientId, doctorId } = participants(body, ctx);
  const serviceType = serviceTypeOf(body, ctx);
  if (body.end === undefined && body.minutesDuration === undefined) {
    ctx.addIssue({ code: 'custom', path: ['end'], message: 'give end or minutesDuration' });
  }
  if (body.end !== undefined && body.minutesDuration !== undefined && minutesBetween(body.start, body.end) !== body.minutesDuration) {
    ctx.addIssue({ code: 'custom', path: ['minutesDuration'], message: 'does not agree with start and end' });
  }
  // Refused above already: the contract would only say it again.
  if (!patientId || !doctorId || !serviceType || (body.end === undefined && body.minutesDuration === undefined)) return z.NEVER;
  return asContract(
    bookingRequest,
    compact({
      patientId,
      doctorId,
      start: body.start,
      end: body.end,
      durationMinutes: body.end === undefined ? body.minutesDuration : undefined,
      serviceType,
      reason: conceptText(body.reasonCode?.[0]),
    }),
    ctx,
  );
});

/**
 * A booking of one Slot: the slot's doctor and start, the rest of the booking as a client asked
 * for it. The end is the slot's, which only the service knows (the doctor's slot length): an end
 * the resource states (end, or start + minutesDuration) is kept to be held against it.
 */
export type SlotBookingCommand = {
  slot: { id: string; doctorId: string; start: string };
  booking: Omit<BookingCommand, 'doctorId' | 'start' | 'end' | 'durationMinutes'>;
  statedEnd?: string;
};

const slotBookingShape = z
  .looseObject({
    resourceType: z.literal('Appointment', { error: 'resourceType must be Appointment' }),
    status: fhirStatus,
    slot: z
      .array(z.looseObject({ reference: z.string({ error: 'a slot needs reference (Slot/<id>)' }) }))
      .length(1, 'exactly one slot: an appointment is booked on one slot of the grid'),
    participant: z.array(participant).min(1, 'participant needs the patient'),
    start: instant.optional(),
    end: instant.optional(),
    minutesDuration: z.number().int().min(5).max(720).optional(),
    serviceType: z.array(codeableConcept).length(1, 'exactly one serviceType').optional(),
    reasonCode: z.array(codeableConcept).max(1, 'at most one reasonCode').optional(),
    cancelationReason: codeableConcept.optional(),
  })
  .superRefine((resource, ctx) => refuseUnmapped(resource, ctx, READ_BY_BOOKING))
  .transform((body, ctx): SlotBookingCommand => {
    if (body.status !== 'booked') {
      ctx.addIssue({ code: 'custom', path: ['status'], message: 'a new appointment must have status booked' });
    }
    if (body.cancelationReason !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['cancelationReason'], message: 'a new appointment has no cancelationReason' });
    }
    const reference = body.slot[0]!.reference;
    const ref = parseSlotReference(reference);
    if (!ref) {
      ctx.addIssue({
        code: 'custom',
        path: ['slot', 0, 'reference'],
        message: 'must be Slot/<id> of a CareGrid slot (<practitioner id>.<yyyymmddhhmm UTC>)',
      });
    }
    const { patientId, doctorId } = participants(body, ctx, false);
    const serviceType = serviceTypeOf(body, ctx);
    // Whatever else the resource states about the slot must be the slot.
    if (ref && doctorId !== undefined && doctorId !== ref.doctorId) {
      ctx.addIssue({ code: 'custom', path: ['participant'], message: `the practitioner is not the one of Slot/${ref.id}` });
    }
    if (ref && body.start !== undefined && Date.parse(body.start) !== Date.parse(ref.start)) {
      ctx.addIssue({ code: 'custom', path: ['start'], message: `does not agree with Slot/${ref.id}, which starts at ${ref.start}` });
    }
    if (
      body.end !== undefined &&
      body.minutesDuration !== undefined &&
      minutesBetween(body.start ?? ref?.start ?? body.end, body.end) !== body.minutesDuration
    ) {
      ctx.addIssue({ code: 'custom', path: ['minutesDuration'], message: 'does not agree with start and end' });
    }
    if (!ref || !patientId || !serviceType) return z.NEVER;
    const statedEnd =
      body.end ??
      (body.minutesDuration === undefined ? undefined : new Date(Date.parse(ref.start) + body.minutesDuration * 60_000).toISOString());
    // The JSON API's contract judges the rest (ids, the reason's length); the end is only a stand-in for the slot's.
    const command = asContract(
      bookingRequest,
      compact({
        patientId,
        doctorId: ref.doctorId,
        start: ref.start,
        end: statedEnd ?? ref.start,
        serviceType,
        reason: conceptText(body.reasonCode?.[0]),
      }),
      ctx,
    );
    if (command === z.NEVER) return z.NEVER;
    const { doctorId: _doctor, start: _start, end: _end, durationMinutes: _duration, ...booking } = command;
    return compact({ slot: ref, booking, statedEnd });
  });

/** `Slot/<id>` (or an absolute URL ending so) of one of our slot ids. */
function parseSlotReference(reference: string): { id: string; doctorId: string; start: string } | undefined {
  const match = /(?:^|\/)Slot\/([^/]+)$/.exec(reference);
  const parsed = match ? parseSlotId(match[1]!) : undefined;
  return parsed && { id: match![1]!, ...parsed };
}

/** Whether a `POST Appointment` asks for a slot (booked by slotBookingFromFhir) rather than for times. */
export function booksSlot(resource: unknown): boolean {
  return typeof resource === 'object' && resource !== null && !Array.isArray(resource) && 'slot' in resource;
}

/**
 * `POST Appointment` with `slot: [{reference: "Slot/<id>"}]` → the booking of that slot: the
 * slot's practitioner and start (the end, the slot's, is the service's to add). A Patient
 * participant and a serviceType as for any booking; a Practitioner participant, start, end or
 * minutesDuration may be given too, and must then agree with the slot.
 */
export function slotBookingFromFhir(resource: unknown): SlotBookingCommand {
  return parseBody(slotBookingShape, resource);
}

/** Parses a request body; failures are a ZodError at `body.<element>` (a 400 problem, an OperationOutcome). */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  return (z.object({ body: schema }).parse({ body }) as { body: z.output<T> }).body;
}

/**
 * `POST Appointment` → our booking command. Status must be `booked` (we book,
 * we do not take proposals); one Patient and one Practitioner participant;
 * start, and end or minutesDuration (both: they must agree); exactly one
 * serviceType of ours; at most one reasonCode (its text is the reason). The
 * price is not the client's: nothing in the resource can set it.
 */
export function bookingFromFhir(resource: unknown): BookingCommand {
  return parseBody(bookingShape, resource);
}

/**
 * `PUT Appointment/<id>` → our lifecycle command: the client sends the whole
 * resource; only `status` (and with cancelled, `cancelationReason`) may differ
 * from what we hold — participants and service type are fixed once booked,
 * and times move only by the JSON API's `POST /appointments/{id}/reschedule`.
 * Returns null when the status is unchanged.
 * Whether the transition is allowed is the domain's (checkTransition), as for
 * the JSON API.
 */
export function statusChangeFromFhir(current: AppointmentRecord, resource: unknown): StatusCommand | null {
  const body = parseBody(appointmentShape, resource);
  const issues: z.core.$ZodIssue[] = [];
  const fixed = (path: string, ours: unknown, theirs: unknown) => {
    if (JSON.stringify(ours) !== JSON.stringify(theirs)) {
      issues.push({
        code: 'custom',
        path: ['body', path],
        message: `${path} cannot change (only status and cancelationReason can)`,
        input: theirs,
      });
    }
  };
  if (body.id !== undefined && body.id !== current.id) fixed('id', current.id, body.id);
  const actors = body.participant
    .map((p) => parseReference(p.actor.reference))
    .map((ref) => (ref ? `${ref.type === 'PractitionerRole' ? 'Practitioner' : ref.type}/${ref.id}` : 'unknown'))
    .sort();
  fixed('participant', [`Patient/${current.patientId}`, `Practitioner/${current.doctorId}`].sort(), actors);
  fixed('start', current.start, body.start);
  if (body.end !== undefined) fixed('end', current.end, body.end);
  if (body.serviceType !== undefined) {
    fixed('serviceType', current.serviceType, serviceTypeIn(body.serviceType[0]));
  }
  if (issues.length > 0) throw new z.ZodError(issues);
  return commandFor(current, body.status as AppointmentStatus, conceptText(body.cancelationReason));
}

/** The command, as the JSON API's contract parses it (a reason of at most 1,000 characters, at cancelationReason). */
function commandFor(current: AppointmentRecord, status: AppointmentStatus, reason: string | undefined): StatusCommand | null {
  if (status === current.status) return null;
  const command = status === 'cancelled' && reason !== undefined ? { status, reason } : { status };
  const parsed = statusChangeRequest.safeParse(command);
  if (parsed.success) return parsed.data;
  throw new z.ZodError(
    parsed.error.issues.map((issue) => ({
      ...issue,
      path: ['body', ...(issue.path[0] === 'reason' ? ['cancelationReason', 'text'] : issue.path)],
    })),
  );
}

const patchOperation = z.discriminatedUnion('op', [
  z.strictObject({ op: z.enum(['replace', 'add']), path: z.string(), value: z.unknown() }),
  z.strictObject({ op: z.literal('test'), path: z.string(), value: z.unknown() }),
]);

/**
 * `PATCH Appointment/<id>` (JSON Patch, RFC 6902) → our lifecycle command:
 * `replace /status`, and `add`/`replace` of `/cancelationReason` (or its
 * `/text`). `test` operations are checked against the current resource. Any
 * other operation or path is refused.
 */
export function statusChangeFromJsonPatch(current: AppointmentRecord, patch: unknown): StatusCommand | null {
  const operations = parseBody(z.array(patchOperation).min(1, 'an empty patch changes nothing'), patch);
  const issues: z.core.$ZodIssue[] = [];
  const issue = (index: number, message: string) =>
    issues.push({ code: 'custom', path: ['body', index], message, input: operations[index] });
  const currentResource = toFhirAppointment(current) as Record<string, unknown>;
  let status: string | undefined;
  let reason: string | undefined;
  operations.forEach((operation, index) => {
    if (operation.op === 'test') {
      const member = operation.path.replace(/^\//, '');
      if (JSON.stringify(currentResource[member]) !== JSON.stringify(operation.value)) issue(index, `test failed: ${operation.path}`);
    } else if (operation.path === '/status') {
      const parsed = fhirStatus.safeParse(operation.value);
      if (parsed.success) status = parsed.data;
      else issue(index, parsed.error.issues[0]?.message ?? 'not a status');
    } else if (operation.path === '/cancelationReason' || operation.path === '/cancelationReason/text') {
      const value = operation.path.endsWith('/text') ? { text: operation.value } : operation.value;
      const parsed = codeableConcept.safeParse(value);
      if (parsed.success) reason = conceptText(parsed.data);
      else issue(index, 'must be a CodeableConcept (its text is the reason)');
    } else {
      issue(index, `${operation.op} ${operation.path} is not supported: only /status and /cancelationReason can change`);
    }
  });
  if (status === undefined && issues.length === 0)
    issues.push({ code: 'custom', path: ['body'], message: 'the patch must set /status', input: patch });
  if (issues.length > 0) throw new z.ZodError(issues);
  return commandFor(current, status as AppointmentStatus, reason);
}
