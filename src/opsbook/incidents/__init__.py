"""Incidents: severities with response clocks, an append-only timeline, reports."""
