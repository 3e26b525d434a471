"""Use-cases grouped by noun. Services take ``session`` keyword-only, never commit, and return plain data."""
