"""Per-frame depth."""
