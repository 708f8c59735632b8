"""Event payloads (S3, SNS, EventBridge, MinIO), validated, then normalised to `ObjectRef`."""
