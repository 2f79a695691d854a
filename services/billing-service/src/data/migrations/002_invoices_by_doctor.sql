-- A doctor's invoice list (the invoices of their appointments).
CREATE INDEX invoices_by_doctor ON invoices (doctor_id, issued_at, id);
