import {
  appointmentRecord,
  bookingRequest,
  doctorRecord,
  freeSlots as freeSlotsSchema,
  invoiceRecord,
  noticeRecord,
  patientRecord,
} from '@caregrid/contracts';
import { bookingFromFhir, toFhirAppointment } from '../src/index.js';
import { appointment, confirmation, doctor, freeSlots, invoice, minimalPatient, patient, reminder } from './fixtures.js';

// The services answer by these schemas (their routes declare them), so fixtures that parse are records they could answer.
describe('the fixtures are records the services answer', () => {
  it('patient, doctor, appointment, free slots, invoice and notices parse with the contracts’ schemas, unchanged', () => {
    expect(patientRecord.parse(patient)).toEqual(patient);
    expect(patientRecord.parse(minimalPatient)).toEqual(minimalPatient);
    expect(doctorRecord.parse(doctor)).toEqual(doctor);
    expect(appointmentRecord.parse(appointment)).toEqual(appointment);
    expect(freeSlotsSchema.parse(freeSlots)).toEqual(freeSlots);
    expect(invoiceRecord.parse(invoice)).toEqual(invoice);
    expect(noticeRecord.parse(reminder)).toEqual(reminder);
    expect(noticeRecord.parse(confirmation)).toEqual(confirmation);
  });

  it('a FHIR booking becomes exactly a booking request the JSON route takes', () => {
    const command = bookingFromFhir(toFhirAppointment(appointment));
    expect(bookingRequest.parse(command)).toEqual(command);
    const { minutesDuration: _m, end: _e, ...withDuration } = toFhirAppointment(appointment);
    const byDuration = bookingFromFhir({ ...withDuration, minutesDuration: 30 });
    expect(bookingRequest.parse(byDuration)).toEqual(byDuration);
  });
});
