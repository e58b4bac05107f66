"""Where opsbook keeps state: SQLite by default, PostgreSQL for teams, one schema via Alembic."""
