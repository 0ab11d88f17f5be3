"""Helpers for testing policies and controllers built on elastic."""
