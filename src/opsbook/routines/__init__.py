"""The calendar's built-in actions (docs/jobs.md): what `opsbook jobs exec` runs for a job
whose action is not a command, each also reachable as a command of its own."""
