"""What a backup reads: PostgreSQL, Redis, configuration files."""
