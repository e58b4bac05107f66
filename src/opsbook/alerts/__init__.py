"""Alerts: a check's bad state held long enough, with pending, firing, flapping and resolving."""
