-- The cleanup counts its progress in its ledger row batch by batch, in each batch's own
-- transaction: a run cut off mid-way (the app killed, its connection lost) is resumed by the next
-- trigger (appointment-repository.ts, archiveEnded), and its count still covers every batch of it.
DROP PROCEDURE archive_ended_appointments(timestamptz, integer, bigint);

CREATE PROCEDURE archive_ended_appointments(run_id uuid, cutoff timestamptz, batch_size integer, INOUT archived bigint DEFAULT 0)
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
    INSERT INTO appointments_archive SELECT batch.*, now() FROM batch;
    GET DIAGNOSTICS moved = ROW_COUNT;
    EXIT WHEN moved = 0;
    UPDATE cleanup_runs SET archived = cleanup_runs.archived + moved WHERE id = run_id;
    archived := archived + moved;
    COMMIT;
  END LOOP;
END
$$;
