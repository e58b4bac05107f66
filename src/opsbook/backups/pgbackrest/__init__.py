"""Physical backups and point-in-time recovery, with pgBackRest as the engine (docs/pitr.md):
conf (pgbackrest.conf from opsbook.yaml), command (pgBackRest run as the cluster's OS user),
info (its backups and WAL range), marker (the known truth a restore is checked against),
proof (a restore into a scratch cluster, checked and removed)."""
