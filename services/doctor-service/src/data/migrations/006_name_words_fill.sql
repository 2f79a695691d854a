-- The words of existing doctors' names (004 made each given name and the family name one word).
INSERT IGNORE INTO doctor_name_words (doctor_id, position, part, word)
SELECT d.id, g.position, 'given', g.word
  FROM doctors d, JSON_TABLE(d.given, '$[*]' COLUMNS (position FOR ORDINALITY, word VARCHAR(200) PATH '$')) g
UNION ALL
SELECT id, 0, 'family', family FROM doctors
