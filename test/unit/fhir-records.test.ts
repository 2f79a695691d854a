/**
 * @caregrid/fhir maps the records the services answer and produces the
 * commands they accept; it cannot import the services (packages stand alone),
 * so this test holds its fixtures and its booking command against the
 * services' own route declarations: the 200 schemas of the reads, the body of
 * the booking route.
 */
import type { z } from 'zod';
import type { ApiRouter } from '@caregrid/platform';
import { bookingFromFhir, toFhirAppointment, type BookingCommand } from '@caregrid/fhir';
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
