"""The argocd fake (see fakes/__init__.py)."""
