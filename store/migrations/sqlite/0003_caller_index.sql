-- Repeat callers are found by their (pseudonymised) number and arrival
-- time: one index lookup per call instead of a scan of the period.
CREATE INDEX contacts_caller_arrival ON contacts (caller, arrival_us);
