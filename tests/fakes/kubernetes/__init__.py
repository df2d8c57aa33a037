"""Tests of the kubernetes fake, driven by the official `kubernetes` client."""
