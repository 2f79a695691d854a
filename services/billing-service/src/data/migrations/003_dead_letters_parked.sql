-- Dead letters become a parked store shared with the other subscribers (the platform's
-- dead-letter migration adds its columns next): arrivals are counted, no longer stamped.
ALTER TABLE dead_letters DROP COLUMN dropped_at, DROP COLUMN drained_at;
