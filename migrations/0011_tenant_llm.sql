-- Per-tenant LLM tiers (LLM_TIERS syntax over the configured providers),
-- set by the operator; NULL uses the environment's tiers.
ALTER TABLE tenants ADD COLUMN llm_tiers TEXT;
