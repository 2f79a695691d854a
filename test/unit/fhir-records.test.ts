/**
 * @caregrid/fhir maps the records the services answer and produces the
 * commands they accept; it cannot import the services (packages stand alone),
 * so this test holds its fixtures and its booking command against the
 * services' own route declarations: the 200 schemas of the reads, the body of
 * the booking route.
 */
import type { z } from 'zod';
import { ConflictError, toProblem, YEAR_RANGE, type ApiRouter } from '@caregrid/platform';
import {
  bookingFromFhir,
  parseSearch,
  toFhirAppointment,
  toOperationOutcome,
  YEAR_RANGE as FHIR_YEAR_RANGE,
  type BookingCommand,
} from '@caregrid/fhir';
import { appointmentRoutes } from '../../services/appointment-service/src/http/routes.js';
import { invoiceRoutes } from '../../services/billing-service/src/http/routes.js';
import { doctorRoutes } from '../../services/doctor-service/src/http/routes.js';
import { patientRoutes } from '../../services/patient-service/src/http/routes.js';
import { appointment, doctor, freeSlots, invoice, minimalPatient, patient } from '../../packages/fhir/test/fixtures.js';

// Routers are only declared here, never called: their dependencies are not needed.
const unused = {} as never;

function route(router: ApiRouter, key: string) {
  const found = router.routes.find((r) => `${r.method.toUpperCase()} ${r.path}` === key);
  if (!found) throw new Error(`no route ${key}`);
  return found as unknown as { body?: z.ZodType; responses: Record<number, { schema?: z.ZodType }> };
}
const answer = (router: ApiRouter, key: string, status = 200) => route(router, key).responses[status]!.schema!;

describe('the records @caregrid/fhir maps are the ones the services answer', () => {
  const appointments = appointmentRoutes({ appointments: unused, sidecar: unused, cleanup: unused });

  it('patient, doctor, appointment, free slots and invoice fixtures match the routes’ declared answers', () => {
    const patients = patientRoutes(unused, unused);
    expect(answer(patients, 'GET /patients/:id').parse(patient)).toEqual(patient);
    expect(answer(patients, 'GET /patients/:id').parse(minimalPatient)).toEqual(minimalPatient);
    expect(answer(doctorRoutes(unused), 'GET /doctors/:id').parse(doctor)).toEqual(doctor);
    expect(answer(appointments, 'GET /appointments/:id').parse(appointment)).toEqual(appointment);
    expect(answer(appointments, 'GET /appointments/slots').parse(freeSlots)).toEqual(freeSlots);
    expect(
      answer(invoiceRoutes({ invoices: unused, pdfs: unused, billing: unused, logger: unused }), 'GET /invoices/:id').parse(invoice),
    ).toEqual(invoice);
  });

  it('a FHIR booking becomes exactly the body the JSON booking route takes', () => {
    const bookingBody = route(appointments, 'POST /appointments').body!;
    const command: BookingCommand = bookingFromFhir(toFhirAppointment(appointment));
    expect(bookingBody.parse(command)).toEqual(command);
    const { minutesDuration: _m, end: _e, ...withDuration } = toFhirAppointment(appointment);
    const byDuration = bookingFromFhir({ ...withDuration, minutesDuration: 30 });
    expect(bookingBody.parse(byDuration)).toEqual(byDuration);
  });
});

describe('what the platform answers becomes an OperationOutcome', () => {
  it('a refused FHIR booking: the platform’s 400 problem, each field error at its FHIRPath', () => {
    const { participant: _p, ...resource } = toFhirAppointment(appointment);
    let thrown: unknown;
    try {
      bookingFromFhir({ ...resource, participant: [{ actor: { reference: 'Device/1' } }], status: 'noshow' });
    } catch (error) {
      thrown = error;
    }
    const { problem } = toProblem(thrown);
    const { status, outcome } = toOperationOutcome(problem, { resourceType: 'Appointment' });
    expect(status).toBe(400);
    expect(outcome.issue.map((issue) => [issue.code, issue.expression?.[0]])).toEqual([
      ['invalid', 'Appointment.status'],
      ['invalid', 'Appointment.participant[0].actor.reference'],
      ['invalid', 'Appointment.participant'],
      ['invalid', 'Appointment.participant'],
    ]);
  });

  it('a refused search names the parameter; a double booking is a conflict', () => {
    let thrown: unknown;
    try {
      parseSearch('Appointment', { date: 'ne2026-03-01' });
    } catch (error) {
      thrown = error;
    }
    const searched = toOperationOutcome(toProblem(thrown).problem);
    expect(searched.outcome.issue[0]!.diagnostics).toMatch(/^search parameter date: prefix ne/);
    const conflict = toOperationOutcome(toProblem(new ConflictError('the doctor is already booked then')).problem);
    expect([conflict.status, conflict.outcome.issue[0]!.code]).toEqual([409, 'conflict']);
  });

  it('dates parse within the same years as the platform’s', () => {
    expect(FHIR_YEAR_RANGE).toEqual(YEAR_RANGE);
  });
});
