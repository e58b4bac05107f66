"""Paging: who is on call, the escalation path, and notifications that are never lost."""
