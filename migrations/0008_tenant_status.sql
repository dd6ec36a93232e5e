-- Tenant suspension: a suspended tenant's credentials are all refused.
ALTER TABLE tenants ADD COLUMN status TEXT NOT NULL DEFAULT 'active'
    CHECK (status IN ('active', 'suspended'));
