"""The bench services: the workflow rules, instrument checks and input readers (no UI)."""
