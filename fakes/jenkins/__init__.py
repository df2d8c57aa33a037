"""The jenkins fake (see fakes/__init__.py)."""
