"""Deployments of several ``opsbook serve`` on one PostgreSQL store: the leader's lease
(fencing included) and the members' heartbeats."""
