"""opsbook serve: the scheduler, the result pipeline and the HTTP server, in one process."""
