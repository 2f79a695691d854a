-- An appointment's version: 1 at booking, one more each time it is moved. Every appointment event
-- carries it, so a consumer (notification-service's reminders) knows which time a notice was for.
ALTER TABLE appointments ADD COLUMN version integer NOT NULL DEFAULT 1 CHECK (version >= 1);
ALTER TABLE appointments_archive ADD COLUMN version integer NOT NULL DEFAULT 1 CHECK (version >= 1);

-- The archive's columns are no longer in the order of the appointments' (archived_at came before
-- version), so `batch.*, now()` would put each value in the wrong column: the batch names them.
-- A column added to appointments later is added to the archive and to this list.
CREATE OR REPLACE PROCEDURE archive_ended_appointments(run_id uuid, cutoff timestamptz, batch_size integer, INOUT archived bigint DEFAULT 0)
LANGUAGE plpgsql AS $$
DECLARE
  moved bigint;
BEGIN
  archived := 0;
  LOOP
    WITH batch AS (
      DELETE FROM appointments
       WHERE ctid = ANY (ARRAY(SELECT ctid FROM appointments WHERE end_at < cutoff ORDER BY end_at LIMIT batch_size))
      RETURNING *
    )
    INSERT INTO appointments_archive (id, patient_id, doctor_id, patient_name, doctor_name, specialization, start_at, end_at,
                                      service_type, reason, amount, currency, status, cancellation_reason, payment_method,
                                      paid_amount, paid_at, created_at, updated_at, version, archived_at)
    SELECT id, patient_id, doctor_id, patient_name, doctor_name, specialization, start_at, end_at,
           service_type, reason, amount, currency, status, cancellation_reason, payment_method,
           paid_amount, paid_at, created_at, updated_at, version, now()
      FROM batch;
    GET DIAGNOSTICS moved = ROW_COUNT;
    EXIT WHEN moved = 0;
    UPDATE cleanup_runs SET archived = cleanup_runs.archived + moved WHERE id = run_id;
    archived := archived + moved;
    COMMIT;
  END LOOP;
END
$$;
