import { ApiRouter } from '@caregrid/platform';
import type { AppointmentUseCases } from '../use-cases.js';
import {
  appointmentPage,
  appointmentResponse,
  bookingBody,
  cleanupResponse,
  idParams,
  listQuery,
  paymentBody,
  rescheduleBody,
  slotsQuery,
  slotsResponse,
  statusBody,
} from './schemas.js';

const problems = {
  400: { description: 'Invalid input' },
  401: { description: 'No verified caller' },
  403: { description: 'Your role may not do this (to this appointment)' },
  404: { description: 'No such appointment (or not yours to see)' },
  409: {
    description:
      'The doctor or the patient is already booked then (the conflicting slot in the body; its appointmentId only when it is one you may read), already paid, or moved since expectedVersion',
  },
  422: {
    description:
      "Against a rule: unknown patient/doctor, beyond the booking horizon (booking-horizon), outside working hours, off the slot grid, more than one slot booked by a patient (one-slot), the patient's open bookings at the cap (open-bookings-cap), a service type the doctor has no fee for (service-not-offered), bad transition (a move of one not booked: move-booked-only), wrong amount",
  },
  503: { description: 'patient-service or doctor-service unavailable (or answering outside its contract)' },
};

/** The JSON routes: each parses, calls one use case and answers. */
export function appointmentRoutes(useCases: AppointmentUseCases): ApiRouter {
  return ApiRouter.forService('appointment-service')
    .add({
      method: 'post',
      path: '/appointments',
      audit: 'create',
      idempotent: true,
      summary: "Book an appointment (patient and doctor verified with their services; priced from the doctor's tariff)",
      tags: ['appointments'],
      body: bookingBody,
      responses: { 201: { description: 'Booked', schema: appointmentResponse }, ...problems },
      handler: async ({ body, caller, res }) => {
        const appointment = await useCases.book(caller, body);
        res.status(201).location(`/appointments/${appointment.id}`).json(appointment);
      },
    })
    .add({
      method: 'get',
      path: '/appointments',
      audit: 'search',
      summary: 'List appointments (filters; a patient or doctor sees only their own)',
      tags: ['appointments'],
      query: listQuery,
      responses: { 200: { description: 'A page', schema: appointmentPage }, 400: problems[400] },
      handler: async ({ query, caller, res }) => {
        res.json(await useCases.list(caller, query));
      },
    })
    .add({
      method: 'get',
      path: '/appointments/slots',
      summary: "A doctor's free slots on a date (the doctor's time zone)",
      tags: ['appointments'],
      query: slotsQuery,
      responses: { 200: { description: 'Free slots', schema: slotsResponse }, 400: problems[400], 422: problems[422], 503: problems[503] },
      handler: async ({ query, res }) => {
        const { doctor, slots } = await useCases.freeSlotsOn(query.doctorId, query.date);
        res.json({ doctorId: doctor.id, date: query.date, slots });
      },
    })
    .add({
      method: 'post',
      path: '/appointments/cleanup',
      audit: 'delete',
      summary: 'Archive appointments past the retention period now (admin; also run daily by the cron binding)',
      tags: ['appointments'],
      responses: { 200: { description: 'Run report', schema: cleanupResponse }, 403: problems[403] },
      handler: async ({ res }) => {
        res.json(await useCases.archiveEnded());
      },
    })
    .add({
      method: 'get',
      path: '/appointments/:id',
      audit: 'read',
      summary: 'Read an appointment',
      tags: ['appointments'],
      params: idParams,
      responses: { 200: { description: 'The appointment', schema: appointmentResponse }, 400: problems[400], 404: problems[404] },
      handler: async ({ params, caller, res }) => {
        res.json(await useCases.read(caller, params.id));
      },
    })
    .add({
      method: 'post',
      path: '/appointments/:id/status',
      audit: 'change',
      summary: 'Move along the lifecycle: booked → checked-in → fulfilled; booked → cancelled (reason) | noshow',
      tags: ['appointments'],
      params: idParams,
      body: statusBody,
      responses: { 200: { description: 'Updated', schema: appointmentResponse }, ...problems },
      handler: async ({ params, body, caller, res }) => {
        res.json(await useCases.changeStatus(caller, params.id, body));
      },
    })
    .add({
      method: 'post',
      path: '/appointments/:id/reschedule',
      audit: 'change',
      idempotent: true,
      summary:
        "Move a booked appointment to another start (same doctor, service type, length and price; the doctor's hours and slot grid); publishes appointment.rescheduled. The same start again: 200, unchanged",
      tags: ['appointments'],
      params: idParams,
      body: rescheduleBody,
      responses: { 200: { description: 'Moved (version one more), or already there', schema: appointmentResponse }, ...problems },
      handler: async ({ params, body, caller, res }) => {
        res.json(await useCases.reschedule(caller, params.id, body));
      },
    })
    .add({
      method: 'post',
      path: '/appointments/:id/payment',
      audit: 'change',
      idempotent: true,
      summary: 'Record the payment of an appointment (staff; once, the exact amount); publishes appointment.paid',
      tags: ['appointments'],
      params: idParams,
      body: paymentBody,
      responses: { 200: { description: 'Paid', schema: appointmentResponse }, ...problems },
      handler: async ({ params, body, caller, res }) => {
        res.json(await useCases.pay(caller, params.id, body));
      },
    })
    .add({
      method: 'post',
      path: '/appointment-cleanup',
      summary: 'Input of the appointment-cleanup cron binding (called by the sidecar only)',
      tags: ['internal'],
      responses: { 200: { description: 'Run report', schema: cleanupResponse } },
      handler: async ({ res }) => {
        res.json(await useCases.archiveEnded());
      },
    });
}
