"""Search's own tables (the no-result log moved to app.usage)."""
