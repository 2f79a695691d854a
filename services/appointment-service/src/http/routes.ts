import { ApiRouter, authorize, ForbiddenError, may, narrow, noteAccess, seesNothing, type Caller } from '@caregrid/platform';
import type { AppointmentRepository } from '../data/appointment-repository.js';
import { checkPayment, checkTransition, freeSlots } from '../domain/appointment.js';
import { bookAppointment, type BookingPorts } from '../domain/book-appointment.js';
import { instantOf } from '../domain/zoned-time.js';
import { fetchDoctor, fetchPatient } from '../peers.js';
import type { Sidecar } from '@caregrid/platform';
import {
  appointmentPage,
  appointmentResponse,
  bookingBody,
  cleanupResponse,
  idParams,
  listQuery,
  paymentBody,
  slotsQuery,
  slotsResponse,
  statusBody,
} from './schemas.js';

const problems = {
  400: { description: 'Invalid input' },
  401: { description: 'No verified caller' },
  403: { description: 'Your role may not do this (to this appointment)' },
  404: { description: 'No such appointment (or not yours to see)' },
  409: { description: 'The doctor or the patient is already booked then (conflicting slot in the body), or already paid' },
  422: {
    description:
      'Against a rule: unknown patient/doctor, outside working hours, off the slot grid, a service type the doctor has no fee for (service-not-offered), bad transition, wrong amount',
  },
  503: { description: 'patient-service or doctor-service unavailable (or answering outside its contract)' },
};

export type CleanupSettings = { retentionDays: number; batchSize: number; minIntervalMs: number };

export function appointmentRoutes(deps: { appointments: AppointmentRepository; sidecar: Sidecar; cleanup: CleanupSettings }): ApiRouter {
  const { appointments, sidecar } = deps;
  const booking: BookingPorts = {
    fetchPatient: (id) => fetchPatient(sidecar, id),
    fetchDoctor: (id) => fetchDoctor(sidecar, id),
    create: (appointment) => appointments.create(appointment),
    now: () => new Date(),
  };

  const visible = async (caller: Caller, id: string) => {
    const appointment = await appointments.get(id);
    authorize(caller, 'appointment', 'read', appointment);
    return appointment;
  };

  const cleanup = () => {
    const cutoff = new Date(Date.now() - deps.cleanup.retentionDays * 86_400_000);
    return appointments.archiveEnded(cutoff, { batchSize: deps.cleanup.batchSize, minIntervalMs: deps.cleanup.minIntervalMs });
  };

  return ApiRouter.forService('appointment-service')
    .add({
      method: 'post',
      path: '/appointments',
      audit: 'create',
      summary: "Book an appointment (patient and doctor verified with their services; priced from the doctor's tariff)",
      tags: ['appointments'],
      body: bookingBody,
      responses: { 201: { description: 'Booked', schema: appointmentResponse }, ...problems },
      handler: async ({ body, caller, res }) => {
        noteAccess({ patientIds: [body.patientId] });
        if (!may(caller, 'appointment', 'book', { patientId: body.patientId })) {
          throw new ForbiddenError('You may only book for your own patient record');
        }
        const appointment = await bookAppointment(body, booking);
        noteAccess({ resourceId: appointment.id });
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
        const scope = narrow(caller, 'appointment');
        const page = seesNothing(scope) ? { items: [], nextCursor: null } : await appointments.list(query, scope);
        noteAccess({ patientIds: page.items.map((appointment) => appointment.patientId) });
        res.json(page);
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
        const doctor = await fetchDoctor(sidecar, query.doctorId);
        const dayStart = instantOf(query.date, 0, doctor.timeZone);
        const dayEnd = instantOf(query.date, 24 * 60, doctor.timeZone);
        const busy = await appointments.busy(doctor.id, dayStart, dayEnd);
        res.json({ doctorId: doctor.id, date: query.date, slots: freeSlots(doctor, query.date, busy, new Date()) });
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
        res.json(await cleanup());
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
        res.json(await visible(caller, params.id));
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
        res.json(
          await appointments.change(params.id, (current) => {
            authorize(caller, 'appointment', body.status === 'cancelled' ? 'cancel' : 'progress', current);
            checkTransition(current.status, body.status, body.reason);
            return { status: body.status, cancellationReason: body.status === 'cancelled' ? body.reason : undefined };
          }),
        );
      },
    })
    .add({
      method: 'post',
      path: '/appointments/:id/payment',
      audit: 'change',
      summary: 'Record the payment of an appointment (staff; once, the exact amount); publishes appointment.paid',
      tags: ['appointments'],
      params: idParams,
      body: paymentBody,
      responses: { 200: { description: 'Paid', schema: appointmentResponse }, ...problems },
      handler: async ({ params, body, caller, res }) => {
        res.json(
          await appointments.change(params.id, (current) => {
            authorize(caller, 'appointment', 'pay', current);
            checkPayment(current, body.amount);
            return { payment: { method: body.method, amount: body.amount } };
          }),
        );
      },
    })
    .add({
      method: 'post',
      path: '/appointment-cleanup',
      summary: 'Input of the appointment-cleanup cron binding (called by the sidecar only)',
      tags: ['internal'],
      responses: { 200: { description: 'Run report', schema: cleanupResponse } },
      handler: async ({ res }) => {
        res.json(await cleanup());
      },
    });
}
