-- Each word of a doctor's name, for a search by the start of any part (FHIR string search) through
-- an index: the table's collation ignores case and accents ('mül' finds Müller, so does 'mul'), in
-- MariaDB and MySQL alike. Written with the doctor (DoctorRepository); filled for existing ones by 006.
CREATE TABLE doctor_name_words (
  doctor_id CHAR(36) NOT NULL,
  position SMALLINT NOT NULL,
  part ENUM('given', 'family') NOT NULL,
  word VARCHAR(200) NOT NULL,
  PRIMARY KEY (doctor_id, position),
  KEY doctor_name_words_prefix (word, part, doctor_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
