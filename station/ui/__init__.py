"""The bench terminal UI (Textual)."""
