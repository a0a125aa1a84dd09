-- The engine looks for jobs another server accepted (SUBMITTED rows it does not know yet).
CREATE INDEX jobs_submitted ON jobs (seq) WHERE status = 'SUBMITTED';
