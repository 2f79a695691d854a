import type {
  APPOINTMENT_STATUSES,
  Fees,
  INVOICE_STATUSES,
  PAYMENT_METHODS,
  SERVICE_TYPES,
  SPECIALIZATIONS,
  WEEKDAYS,
} from '@caregrid/contracts';

/**
 * Our records as the services' JSON API answers them (their `*Response`
 * schemas): what a FHIR route has in hand after calling the same use case as
 * the JSON route. The tests parse the fixtures with the services' own response
 * schemas, so a drift between these and the services shows there.
 */
export type ServiceType = (typeof SERVICE_TYPES)[number];
export type AppointmentStatus = (typeof APPOINTMENT_STATUSES)[number];
export type Specialization = (typeof SPECIALIZATIONS)[number];
export type Weekday = (typeof WEEKDAYS)[number];

/** patient-service `GET /patients/{id}`. */
export type PatientRecord = {
  id: string;
  name: string;
  email: string;
  phone: string | null;
  address: string | null;
  dateOfBirth: string;
  gender: 'male' | 'female' | 'other' | 'unknown';
  details: {
    allergies?: string[];
    emergencyContact?: { name: string; phone: string; relation: string };
    insurance?: { provider: string; policyNumber: string };
  };
  userId: string | null;
  createdAt: string;
  updatedAt: string;
};

/** doctor-service `GET /doctors/{id}`. */
export type DoctorRecord = {
  id: string;
  name: string;
  email: string;
  phone: string | null;
  specialization: Specialization;
  licenseNumber: string;
  yearsOfExperience: number;
  hospitalName: string;
  department: string;
  accepting: boolean;
  workingHours: Partial<Record<Weekday, { start: string; end: string }[]>>;
  slotMinutes: number;
  timeZone: string;
  fees: Fees;
  currency: string;
  version: number;
  createdAt: string;
  updatedAt: string;
};

/** appointment-service `GET /appointments/{id}`. */
export type AppointmentRecord = {
  id: string;
  patientId: string;
  doctorId: string;
  patientName: string;
  doctorName: string;
  specialization: string;
  start: string;
  end: string;
  serviceType: ServiceType;
  reason: string | null;
  amount: number;
  currency: string;
  status: AppointmentStatus;
  cancellationReason: string | null;
  payment: { method: (typeof PAYMENT_METHODS)[number]; amount: number; paidAt: string } | null;
  createdAt: string;
  updatedAt: string;
};

/** appointment-service `GET /appointments/slots?doctorId&date`: a doctor's free slots on a day. */
export type FreeSlots = { doctorId: string; date: string; slots: { start: string; end: string }[] };

/** billing-service `GET /invoices/{id}`. */
export type InvoiceRecord = {
  id: string;
  number: string;
  appointmentId: string;
  patient: { id: string; name: string };
  doctor: { id: string; name: string; specialization: string };
  items: { description: string; quantity: number; unitAmount: number; amount: number }[];
  currency: string;
  net: number;
  tax: number;
  gross: number;
  taxRateBasisPoints: number;
  status: (typeof INVOICE_STATUSES)[number];
  issuedAt: string;
  dueDate: string;
  balancedAt: string | null;
  cancelledAt: string | null;
  cancellationReason: string | null;
};
