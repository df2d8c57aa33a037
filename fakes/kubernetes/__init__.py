"""The kubernetes fake (see fakes/__init__.py)."""
