"""opsbook backup: dump → compress → encrypt → checksum → repositories; verify, restore, prune."""
