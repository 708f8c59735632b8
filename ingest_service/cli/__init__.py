"""The `ingest-service` command line: the domain's commands (process, status, retry, jobs, …)."""
