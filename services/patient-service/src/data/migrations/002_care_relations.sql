-- Care-team scope: which doctors have (or had) an appointment with which patient.
-- Fed by appointment-service's `booked` events; kept when the appointment is
-- cancelled or archived (the doctor saw the booking and may have notes).
CREATE TABLE care_relations (
  patient_id uuid NOT NULL,
  doctor_id uuid NOT NULL,
  since timestamptz NOT NULL DEFAULT now(),
  first_appointment_id uuid NOT NULL,
  PRIMARY KEY (patient_id, doctor_id)
);
CREATE INDEX care_relations_doctor ON care_relations (doctor_id, patient_id);
