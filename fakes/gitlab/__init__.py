"""The gitlab fake (see fakes/__init__.py)."""
