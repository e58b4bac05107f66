"""The runbook's calendar: jobs on cron schedules, their runs recorded (docs/jobs.md)."""
