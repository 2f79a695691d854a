import type { AppointmentRecord, DoctorRecord, FreeSlots, InvoiceRecord, NoticeRecord, PatientRecord } from '@caregrid/contracts';

export const ids = {
  patient: '0190f0a0-0000-7000-8000-00000000000a',
  doctor: '0190f0a0-0000-7000-8000-00000000000d',
  appointment: '0190f0a0-0000-7000-8000-0000000000a1',
  invoice: '0190f0a0-0000-7000-8000-0000000000b1',
  user: '0190f0a0-0000-7000-8000-0000000000c1',
  reminder: '0190f0a0-0000-7000-8000-0000000000d1',
  confirmation: '0190f0a0-0000-7000-8000-0000000000d2',
};

/** Records as the services answer them (records.test.ts parses them with the contracts' schemas the services answer by). */
export const patient: PatientRecord = {
  id: ids.patient,
  name: 'Ann van der Berg',
  family: 'van der Berg',
  given: ['Ann'],
  email: 'ann@example.org',
  phone: '+49 30 1234567',
  address: 'Hauptstraße 1, 10115 Berlin',
  dateOfBirth: '1984-02-29',
  gender: 'female',
  details: {
    allergies: ['penicillin'],
    emergencyContact: { name: 'Bo Berg', phone: '+49 30 7654321', relation: 'spouse' },
    insurance: { provider: 'TK', policyNumber: 'A123456789' },
  },
  userId: ids.user,
  createdAt: '2026-01-05T10:00:00.000Z',
  updatedAt: '2026-01-06T11:30:00.000Z',
};

export const minimalPatient: PatientRecord = {
  ...patient,
  phone: null,
  address: null,
  details: {},
  userId: null,
  gender: 'unknown',
};

export const doctor: DoctorRecord = {
  id: ids.doctor,
  name: 'Dr. Quinn',
  family: 'Quinn',
  given: ['Dr.'],
  email: 'quinn@example.org',
  phone: null,
  specialization: 'general-practice',
  licenseNumber: 'L-4711',
  yearsOfExperience: 12,
  hospitalName: 'St. Mary',
  department: 'Outpatients',
  accepting: true,
  workingHours: {
    mon: [
      { start: '09:00', end: '12:00' },
      { start: '13:00', end: '17:00' },
    ],
    tue: [{ start: '09:00', end: '12:00' }],
    fri: [{ start: '08:30', end: '12:00' }],
  },
  slotMinutes: 30,
  timeZone: 'Europe/Berlin',
  fees: { consultation: 5_000, checkup: 7_550 },
  currency: 'EUR',
  version: 3,
  createdAt: '2026-01-01T08:00:00.000Z',
  updatedAt: '2026-01-02T08:00:00.000Z',
};

export const appointment: AppointmentRecord = {
  id: ids.appointment,
  patientId: ids.patient,
  doctorId: ids.doctor,
  patientName: patient.name,
  doctorName: doctor.name,
  specialization: 'general-practice',
  start: '2026-03-02T08:00:00.000Z',
  end: '2026-03-02T08:30:00.000Z',
  serviceType: 'consultation',
  reason: 'persistent cough',
  amount: 5_000,
  currency: 'EUR',
  status: 'booked',
  cancellationReason: null,
  payment: null,
  version: 1,
  createdAt: '2026-02-01T09:00:00.000Z',
  updatedAt: '2026-02-01T09:00:00.000Z',
};

export const freeSlots: FreeSlots = {
  doctorId: ids.doctor,
  date: '2026-03-02',
  slots: [
    { start: '2026-03-02T08:30:00.000Z', end: '2026-03-02T09:00:00.000Z' },
    { start: '2026-03-02T09:00:00.000Z', end: '2026-03-02T09:30:00.000Z' },
  ],
};

export const invoice: InvoiceRecord = {
  id: ids.invoice,
  number: 'INV-2026-000123',
  appointmentId: ids.appointment,
  patient: { id: ids.patient, name: patient.name },
  doctor: { id: ids.doctor, name: doctor.name, specialization: 'general-practice' },
  items: [{ description: 'consultation with Dr. Quinn on 2026-03-02', quantity: 1, unitAmount: 12_345, amount: 12_345 }],
  currency: 'EUR',
  net: 10_374,
  tax: 1_971,
  gross: 12_345,
  taxRateBasisPoints: 1_900,
  status: 'issued',
  issuedAt: '2026-03-02T09:00:00.000Z',
  dueDate: '2026-03-16',
  balancedAt: null,
  cancelledAt: null,
  cancellationReason: null,
};

/** A reminder of notification-service's ledger, waiting for its job (24 h before the appointment). */
export const reminder: NoticeRecord = {
  id: ids.reminder,
  appointmentId: ids.appointment,
  patientId: ids.patient,
  doctorId: ids.doctor,
  kind: 'reminder',
  version: 1,
  status: 'scheduled',
  attempts: 0,
  nextAttemptAt: null,
  lastError: null,
  appointmentStart: '2026-03-02T09:00:00.000Z',
  dueAt: '2026-03-01T09:00:00.000Z',
  jobName: `reminder-${ids.appointment}-reminder`,
  sentAt: null,
  createdAt: '2026-02-20T10:00:00.000Z',
  updatedAt: '2026-02-20T10:00:00.000Z',
};

/** The booking's confirmation, sent. */
export const confirmation: NoticeRecord = {
  ...reminder,
  id: ids.confirmation,
  kind: 'confirmation',
  status: 'sent',
  attempts: 1,
  dueAt: null,
  jobName: null,
  sentAt: '2026-02-20T10:00:02.000Z',
  updatedAt: '2026-02-20T10:00:02.000Z',
};
