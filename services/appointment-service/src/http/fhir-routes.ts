import { z } from 'zod';
import { ApiRouter, decodeCursor, encodeCursor, NotFoundError, type Caller } from '@caregrid/platform';
import {
  appointmentListQuery,
  bookingFromFhir,
  booksSlot,
  FHIR_JSON,
  isUuid,
  pageLinks,
  parseSlotId,
  PATCH_FORMATS,
  SLOT_SEARCH,
  searchSchemas,
  searchset,
  slotBookingFromFhir,
  statusChangeFromFhir,
  statusChangeFromJsonPatch,
  toFhirAppointment,
  toFhirSchedule,
  toFhirSlot,
  type StatusCommand,
} from '@caregrid/fhir';
import { publicRequestUrl, sendCount, sendResource } from '@caregrid/fhir/http';
import type { AppointmentUseCases } from '../use-cases.js';
import { idParams } from './schemas.js';

const outcome = (description: string) => ({ description: `${description} (OperationOutcome)`, contentType: FHIR_JSON });
const answers = {
  400: outcome(
    "Invalid resource or parameter (a booking or status change is held to the JSON API's contract, e.g. a reason of at most 1,000 characters)",
  ),
  403: outcome('Your role may not do this (to this appointment)'),
  404: outcome('No such appointment (or not yours to see)'),
  409: outcome('The doctor or the patient is already booked then (by slot: the slot is not free)'),
  422: outcome(
    "Against a rule: unknown patient/doctor, beyond the booking horizon, outside working hours, more than one slot booked by a patient, the patient's open bookings at the cap, a service the doctor has no fee for, bad transition",
  ),
};
const DAY = 86_400_000;
// Any id up to FHIR's 64 characters: one that names nothing is a 404, as FHIR reads answer.
const slotParams = z.object({ id: z.string().max(64) });
const slotCursor = z.tuple([z.iso.datetime()]);

/**
 * FHIR R4 Appointment, Slot and Schedule over appointment-service's own use cases:
 * booking (verification, tariff price, no double booking), the lifecycle
 * (PUT of the resource or JSON Patch of its status), searches in the caller's
 * scope, free slots, and each practitioner's one schedule.
 */
export function appointmentFhirRoutes(useCases: AppointmentUseCases): ApiRouter {
  const change = async (
    caller: Caller,
    id: string,
    commandFor: (current: Awaited<ReturnType<AppointmentUseCases['read']>>) => StatusCommand | null,
  ) => {
    const current = await useCases.read(caller, id);
    const command = commandFor(current);
    // The same status again changes nothing: the resource as it is.
    return command === null ? current : useCases.changeStatus(caller, id, command);
  };

  return ApiRouter.forService('appointment-service')
    .add({
      method: 'get',
      path: '/fhir/Appointment',
      audit: 'search',
      summary: 'FHIR Appointment search (patient, practitioner, date, status): only your own as a patient or doctor',
      tags: ['fhir'],
      query: searchSchemas.Appointment,
      responses: { 200: { description: 'searchset Bundle', contentType: FHIR_JSON }, 400: answers[400] },
      handler: async ({ query, caller, req, res }) => {
        const page = await useCases.list(caller, appointmentListQuery(query), { total: true });
        if (query.summary === 'count') {
          sendCount(req, res, page.total ?? 0);
          return;
        }
        const bundle = searchset(page.items.map(toFhirAppointment), {
          total: page.total ?? 0,
          ...pageLinks(publicRequestUrl(req), page.nextCursor),
        });
        sendResource(res, bundle);
      },
    })
    .add({
      method: 'post',
      path: '/fhir/Appointment',
      audit: 'create',
      idempotent: true,
      summary:
        "FHIR booking: status booked, a Patient and a Practitioner participant, start and end; or a Patient participant and slot [Slot/<id>], which books that slot (start, end, practitioner, if given, must be the slot's); priced from the doctor's tariff",
      tags: ['fhir'],
      responses: { 201: { description: 'Booked Appointment', contentType: FHIR_JSON }, ...answers },
      handler: async ({ body, caller, req, res }) => {
        const appointment = booksSlot(body)
          ? await useCases.bookSlot(caller, slotBookingFromFhir(body))
          : await useCases.book(caller, bookingFromFhir(body));
        res.location(`${publicRequestUrl(req).replace(/\?.*$/, '')}/${appointment.id}`);
        sendResource(res, toFhirAppointment(appointment), 201);
      },
    })
    .add({
      method: 'get',
      path: '/fhir/Appointment/:id',
      audit: 'read',
      summary: 'FHIR Appointment read',
      tags: ['fhir'],
      params: idParams,
      responses: { 200: { description: 'Appointment', contentType: FHIR_JSON }, 400: answers[400], 404: answers[404] },
      handler: async ({ params, caller, res }) => {
        sendResource(res, toFhirAppointment(await useCases.read(caller, params.id)));
      },
    })
    .add({
      method: 'put',
      path: '/fhir/Appointment/:id',
      audit: 'change',
      summary: 'FHIR update: only status (and cancelationReason) may differ: cancel, check in, fulfil, no-show',
      tags: ['fhir'],
      params: idParams,
      responses: { 200: { description: 'Appointment', contentType: FHIR_JSON }, ...answers },
      handler: async ({ params, body, caller, res }) => {
        sendResource(res, toFhirAppointment(await change(caller, params.id, (current) => statusChangeFromFhir(current, body))));
      },
    })
    .add({
      method: 'patch',
      path: '/fhir/Appointment/:id',
      audit: 'change',
      summary: `FHIR patch (${PATCH_FORMATS.join(', ')}): replace /status, add /cancelationReason`,
      tags: ['fhir'],
      params: idParams,
      responses: { 200: { description: 'Appointment', contentType: FHIR_JSON }, ...answers },
      handler: async ({ params, body, caller, res }) => {
        sendResource(res, toFhirAppointment(await change(caller, params.id, (current) => statusChangeFromJsonPatch(current, body))));
      },
    })
    .add({
      method: 'get',
      path: '/fhir/Slot',
      summary: `FHIR Slot search: a practitioner's free slots (schedule.actor or practitioner; start bounds, at most ${SLOT_SEARCH.maxDays} days; service-type: none unless their tariff offers it)`,
      tags: ['fhir'],
      query: searchSchemas.Slot,
      responses: { 200: { description: 'searchset Bundle', contentType: FHIR_JSON }, 400: answers[400], 422: answers[422] },
      handler: async ({ query, req, res }) => {
        const from = query.start.from ? new Date(query.start.from) : new Date();
        const to = query.start.to ? new Date(query.start.to) : new Date(from.getTime() + SLOT_SEARCH.defaultDays * DAY);
        if (to.getTime() - from.getTime() > SLOT_SEARCH.maxDays * DAY) {
          throw new z.ZodError([
            { code: 'custom', path: ['query', 'start'], message: `at most ${SLOT_SEARCH.maxDays} days per search`, input: undefined },
          ]);
        }
        const { doctor, serviceTypes, slots } = await useCases.bookableSlotsBetween(query.practitionerId, from, to, query.serviceType);
        if (query.summary === 'count') {
          sendCount(req, res, slots.length);
          return;
        }
        const after = query.cursor ? decodeCursor(query.cursor, slotCursor)[0] : undefined;
        const rest = after ? slots.filter((slot) => slot.start > after) : slots;
        const page = rest.slice(0, query.count);
        const nextCursor = rest.length > page.length ? encodeCursor([page[page.length - 1]!.start]) : null;
        const bundle = searchset(
          page.map((slot) => toFhirSlot({ ...doctor, serviceTypes }, slot)),
          { total: slots.length, ...pageLinks(publicRequestUrl(req), nextCursor) },
        );
        sendResource(res, bundle);
      },
    })
    .add({
      method: 'get',
      path: '/fhir/Slot/:id',
      summary: 'FHIR Slot read: `<practitioner id>.<yyyymmddhhmm UTC>`, while it is free',
      tags: ['fhir'],
      params: slotParams,
      responses: { 200: { description: 'Slot', contentType: FHIR_JSON }, 404: outcome('No such free slot') },
      handler: async ({ params, res }) => {
        const parsed = parseSlotId(params.id);
        if (!parsed) throw new NotFoundError('Slot', params.id);
        const start = new Date(parsed.start);
        const { doctor, serviceTypes, slots } = await useCases.bookableSlotsBetween(
          parsed.doctorId,
          start,
          new Date(start.getTime() + 60_000),
        );
        const slot = slots.find((s) => s.start === parsed.start);
        if (!slot) throw new NotFoundError('Slot', params.id);
        sendResource(res, toFhirSlot({ ...doctor, serviceTypes }, slot));
      },
    })
    .add({
      method: 'get',
      path: '/fhir/Schedule',
      summary: "FHIR Schedule search: a practitioner's one schedule (actor, required)",
      tags: ['fhir'],
      query: searchSchemas.Schedule,
      responses: { 200: { description: 'searchset Bundle', contentType: FHIR_JSON }, 400: answers[400] },
      handler: async ({ query, req, res }) => {
        const found = await useCases.schedule(query.practitionerId);
        if (query.summary === 'count') {
          sendCount(req, res, found ? 1 : 0);
          return;
        }
        // One schedule at most: a single page.
        const entries = found ? [toFhirSchedule(found.doctor, found.planningHorizon)] : [];
        sendResource(res, searchset(entries, { total: entries.length, ...pageLinks(publicRequestUrl(req), null) }));
      },
    })
    .add({
      method: 'get',
      path: '/fhir/Schedule/:id',
      summary: "FHIR Schedule read: the practitioner's id (Slot.schedule names it)",
      tags: ['fhir'],
      params: slotParams,
      responses: { 200: { description: 'Schedule', contentType: FHIR_JSON }, 404: outcome('No such practitioner') },
      handler: async ({ params, res }) => {
        const found = isUuid(params.id) ? await useCases.schedule(params.id.toLowerCase()) : undefined;
        if (!found) throw new NotFoundError('Schedule', params.id);
        sendResource(res, toFhirSchedule(found.doctor, found.planningHorizon));
      },
    });
}
