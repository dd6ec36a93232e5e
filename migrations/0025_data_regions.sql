-- Data residency: the region a tenant's data is kept in (its shard's,
-- SHARD_REGIONS), fixed at creation; NULL for no restriction.
ALTER TABLE tenants ADD COLUMN data_region TEXT;
