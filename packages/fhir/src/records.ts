import type { APPOINTMENT_STATUSES, SERVICE_TYPES, SPECIALIZATIONS, WEEKDAYS } from '@caregrid/contracts';

/**
 * The records @caregrid/fhir maps are the services' answers, typed by their
 * schemas in @caregrid/contracts (PatientRecord, DoctorRecord,
 * AppointmentRecord, FreeSlots, InvoiceRecord): one source, no restatement.
 * Here only the code types the mappings name.
 */
export type ServiceType = (typeof SERVICE_TYPES)[number];
export type AppointmentStatus = (typeof APPOINTMENT_STATUSES)[number];
export type Specialization = (typeof SPECIALIZATIONS)[number];
export type Weekday = (typeof WEEKDAYS)[number];
