"""Tests of the Harbor fake."""
