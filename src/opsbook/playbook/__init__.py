"""Containment and recovery: actions run from an incident (or by a guarded rule), and
procedures run step by step, resumable (docs/actions.md)."""
