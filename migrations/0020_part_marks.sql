-- What the scan found in each part of a resumable upload when it arrived
-- (EICAR, active PDF content), with the part's first and last bytes so
-- that completion checks the joins between parts (src/scan/markers.rs).
ALTER TABLE upload_parts ADD COLUMN marks TEXT;
