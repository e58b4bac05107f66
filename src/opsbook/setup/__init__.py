"""First-run helpers: discovering the local stack and writing a starting opsbook.yaml."""
