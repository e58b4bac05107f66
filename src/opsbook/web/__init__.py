"""The daemon's HTTP faces: /health and /metrics, the alert intake, acknowledgement links.

Like the CLI, a face: it parses a request, calls the daemon or a domain, and renders; it
writes no SQL and decides no rule. ``create_app`` builds the whole app for one daemon.
"""
