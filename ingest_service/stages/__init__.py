"""The stage chain: probe → frames (→ camera → depth → masks)."""
