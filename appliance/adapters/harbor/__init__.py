"""Harbor: the Registry port (registry.py)."""
