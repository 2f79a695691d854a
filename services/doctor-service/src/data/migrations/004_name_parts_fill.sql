-- Existing names split by the rule of splitName (@caregrid/contracts): the last whitespace-separated
-- word is the family name, the words before it the given names. JSON_QUOTE escapes what JSON needs and
-- leaves spaces alone, so splitting the quoted given names at spaces makes the array.
UPDATE doctors
   SET family = REGEXP_SUBSTR(TRIM(name), '[^[:space:]]+$'),
       given = IF(
         TRIM(REGEXP_REPLACE(TRIM(name), '[^[:space:]]+$', '')) = '',
         '[]',
         CONCAT('[', REPLACE(JSON_QUOTE(REGEXP_REPLACE(TRIM(REGEXP_REPLACE(TRIM(name), '[^[:space:]]+$', '')), '[[:space:]]+', ' ')), ' ', '","'), ']')
       )
