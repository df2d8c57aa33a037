"""S3 / MinIO: the ObjectStore port (store.py)."""
