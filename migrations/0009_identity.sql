-- Identity and access: four roles, key scopes/expiry/rotation/last use,
-- users, document ownership and sharing, per-tenant identity providers
-- (JWT), and the hash-chained audit log.

-- api_keys is rebuilt because its role CHECK changes (SQLite cannot alter a
-- CHECK constraint). Nothing references api_keys by foreign key.
CREATE TABLE api_keys_v2 (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    user_id      TEXT,                  -- NULL: a service key of the tenant
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,  -- HMAC-SHA256(pepper, secret), hex
    role         TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    scopes       TEXT,                  -- space-separated; NULL: all of the role's scopes
    rate_limits  TEXT,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER,
    revoked_at   INTEGER,
    rotated_to   TEXT                   -- id of the key that replaced this one
);
INSERT INTO api_keys_v2 (id, tenant_id, name, prefix, hash, role, rate_limits, created_at, revoked_at)
    SELECT id, tenant_id, name, prefix, hash, role, rate_limits, created_at, revoked_at FROM api_keys;
DROP TABLE api_keys;
ALTER TABLE api_keys_v2 RENAME TO api_keys;
CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, id);
-- Each tenant's first key was its owner key.
UPDATE api_keys SET role = 'owner'
    WHERE role = 'admin'
      AND created_at = (SELECT MIN(k.created_at) FROM api_keys k WHERE k.tenant_id = api_keys.tenant_id);

CREATE TABLE users (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    email       TEXT,
    name        TEXT,
    external_id TEXT,                   -- the identity provider's subject (JWT sub)
    role        TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    status      TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX users_by_tenant ON users (tenant_id, id);
CREATE UNIQUE INDEX users_by_email ON users (tenant_id, email) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX users_by_external_id ON users (tenant_id, external_id) WHERE external_id IS NOT NULL;

-- Who owns a document: 'user:<id>' or 'key:<id>' (NULL: created before 0009,
-- visible to the tenant's admins only).
ALTER TABLE documents ADD COLUMN owner TEXT;

CREATE TABLE document_shares (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    document_id  TEXT NOT NULL,
    grantee_type TEXT NOT NULL CHECK (grantee_type IN ('user', 'role')),
    grantee      TEXT NOT NULL,
    access       TEXT NOT NULL CHECK (access IN ('read', 'write')),
    created_by   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (document_id, grantee_type, grantee)
);
CREATE INDEX document_shares_by_grantee ON document_shares (tenant_id, grantee_type, grantee);

CREATE TABLE identity_providers (
    tenant_id       TEXT PRIMARY KEY REFERENCES tenants(id),
    issuer          TEXT NOT NULL,
    config          TEXT NOT NULL,      -- JSON, see src/auth/jwt.rs IdpConfig
    jwks            TEXT,               -- last JWKS fetched from jwks_url
    jwks_fetched_at INTEGER,            -- last fetch attempt
    updated_at      INTEGER NOT NULL
);
CREATE INDEX identity_providers_by_issuer ON identity_providers (issuer);

CREATE TABLE audit_log (
    tenant_id  TEXT NOT NULL,
    seq        INTEGER NOT NULL,        -- 1, 2, 3 … per tenant
    at         INTEGER NOT NULL,
    actor      TEXT NOT NULL,           -- 'key:<id>', 'user:<id>', 'operator', 'anonymous'
    via        TEXT,                    -- the credential: 'key:<id>' or 'jwt'
    action     TEXT NOT NULL,
    resource   TEXT,
    outcome    TEXT NOT NULL,
    ip         TEXT,
    request_id TEXT,
    detail     TEXT,                    -- JSON object
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
CREATE TRIGGER audit_log_append_only_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_append_only_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
