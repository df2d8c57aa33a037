"""The harbor fake (see fakes/__init__.py)."""
