-- Tenant plans: which PLAN_RATE_LIMITS / PLAN_BUDGETS entry applies.
ALTER TABLE tenants ADD COLUMN plan TEXT NOT NULL DEFAULT 'standard';
