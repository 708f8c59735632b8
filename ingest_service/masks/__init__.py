"""Masks: what moves on its own (classical) or what a text prompt names (SAM 3)."""
