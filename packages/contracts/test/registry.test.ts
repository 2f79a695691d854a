import {
  appointmentBooked,
  appointmentCancelled,
  appointmentFulfilled,
  appointmentNoShow,
  appointmentPaid,
  appointmentRescheduled,
  appointmentsPurged,
  auditRecorded,
  doctorCreated,
  doctorDeleted,
  doctorUpdated,
  eventContractsOf,
  invoiceCancelled,
  invoiceIssued,
  patientCreated,
  patientDeleted,
  patientUpdated,
  Topics,
} from '../src/index.js';

describe('eventContractsOf', () => {
  it('gives every event of the topics asked for, and only those', () => {
    const types = (topics: Parameters<typeof eventContractsOf>[0]) =>
      eventContractsOf(topics)
        .map((c) => c.type)
        .sort();
    expect(types([Topics.appointments])).toEqual(
      [
        appointmentBooked,
        appointmentCancelled,
        appointmentFulfilled,
        appointmentNoShow,
        appointmentPaid,
        appointmentRescheduled,
        appointmentsPurged,
      ]
        .map((c) => c.type)
        .sort(),
    );
    expect(types([Topics.patients])).toEqual([patientCreated, patientUpdated, patientDeleted].map((c) => c.type).sort());
    expect(types([Topics.audit])).toEqual([auditRecorded.type]);
    expect(types([Topics.doctors, Topics.invoices])).toEqual(
      [doctorCreated, doctorUpdated, doctorDeleted, invoiceIssued, invoiceCancelled].map((c) => c.type).sort(),
    );
  });
});
