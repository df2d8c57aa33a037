"""The alertmanager fake (see fakes/__init__.py)."""
