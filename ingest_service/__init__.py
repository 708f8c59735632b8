"""ingest_service: plates in a bucket become frames, cameras, depth, masks and a manifest."""
