import type { DoctorForBooking, PatientForBooking } from '@caregrid/contracts';
import {
  checkBookingTime,
  checkOneSlot,
  checkWithinHorizon,
  priceFromTariff,
  type Appointment,
  type NewAppointment,
  type ServiceType,
} from './appointment.js';

/** What a client asks for; the price is not theirs to say. */
export type BookingRequest = {
  patientId: string;
  doctorId: string;
  start: string;
  end?: string;
  durationMinutes?: number;
  serviceType: ServiceType;
  reason?: string;
};

/** The limits a booking is held to: how far ahead, and whether it must be one slot (a patient's own). */
export type BookingPolicy = { horizonDays: number; oneSlotOnly: boolean };

/** The I/O a booking needs, passed in: the records' owners (by invocation), the store, the clock. */
export type BookingPorts = {
  fetchPatient: (id: string) => Promise<PatientForBooking>;
  fetchDoctor: (id: string) => Promise<DoctorForBooking>;
  create: (appointment: NewAppointment) => Promise<Appointment>;
  now: () => Date;
};

/**
 * Booking: ask patient-service and doctor-service for the records, check the
 * time against the doctor's hours and the policy's limits, price the visit
 * from the doctor's tariff, store it (the database refuses overlaps and, in
 * `create`, a patient's open bookings beyond the cap).
 */
export async function bookAppointment(request: BookingRequest, ports: BookingPorts, policy: BookingPolicy): Promise<Appointment> {
  const [patient, doctor] = await Promise.all([ports.fetchPatient(request.patientId), ports.fetchDoctor(request.doctorId)]);
  const start = new Date(request.start);
  const end = request.end ? new Date(request.end) : new Date(start.getTime() + request.durationMinutes! * 60_000);
  const now = ports.now();
  checkWithinHorizon(start, now, policy.horizonDays);
  checkBookingTime(start, end, doctor, now);
  if (policy.oneSlotOnly) checkOneSlot(start, end, doctor);
  const price = priceFromTariff(doctor, request.serviceType);
  return ports.create({
    patientId: patient.id,
    doctorId: doctor.id,
    patientName: patient.name,
    doctorName: doctor.name,
    specialization: doctor.specialization,
    start: start.toISOString(),
    end: end.toISOString(),
    serviceType: request.serviceType,
    reason: request.reason ?? null,
    ...price,
  });
}
