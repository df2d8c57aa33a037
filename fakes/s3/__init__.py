"""The s3 fake (see fakes/__init__.py)."""
