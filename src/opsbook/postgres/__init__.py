"""PostgreSQL diagnostics and safe maintenance (`opsbook db`), correct on PostgreSQL 12 to 17."""
