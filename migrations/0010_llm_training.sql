-- Jobs whose owner opted their LLM prompts and answers into the fine-tuning
-- export (GET /v1/llm/training-data). The pairs themselves live in R2 under
-- tenants/<id>/llm-training/<document id>/, encrypted like every object.
ALTER TABLE jobs ADD COLUMN llm_training_opt_in INTEGER NOT NULL DEFAULT 0;
