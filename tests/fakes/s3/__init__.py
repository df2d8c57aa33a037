"""Tests of the S3 fake."""
