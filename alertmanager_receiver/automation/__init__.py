"""Safe automation: rules decide in the ingest transaction, a worker runs the durable queue."""
