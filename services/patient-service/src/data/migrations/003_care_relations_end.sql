-- A care relation now rests on appointments, one row each, so that it can end: a doctor is in a
-- patient's care team while any appointment of the two is not cancelled (booked, moved, or taken
-- place). A cancellation stays as a tombstone: the appointment lifecycle never leaves `cancelled`,
-- so a booking heard after it (late, redelivered, re-driven from the dead letters) changes nothing,
-- and a cancellation heard before its booking leaves no relation.
CREATE TABLE care_appointments (
  -- NULL: a relation from before this table, on an appointment not known (state 'past').
  appointment_id uuid UNIQUE,
  patient_id uuid NOT NULL,
  doctor_id uuid NOT NULL,
  state text NOT NULL CHECK (state IN ('booked', 'cancelled', 'past')),
  -- When the appointment was first heard of (the earliest event time).
  since timestamptz NOT NULL DEFAULT now(),
  CHECK ((appointment_id IS NULL) = (state = 'past'))
);
-- The care-team scope (list: a doctor's patients; read: a patient's doctors) reads live rows only.
CREATE INDEX care_appointments_doctor ON care_appointments (doctor_id, patient_id) WHERE state <> 'cancelled';
CREATE INDEX care_appointments_patient ON care_appointments (patient_id, doctor_id) WHERE state <> 'cancelled';

-- Nobody loses access they had: each relation so far becomes a past appointment, which no
-- cancellation ends (which of the pair's bookings it rested on, and whether they took place, was
-- never recorded).
INSERT INTO care_appointments (appointment_id, patient_id, doctor_id, state, since)
SELECT NULL, patient_id, doctor_id, 'past', since FROM care_relations;

DROP TABLE care_relations;
