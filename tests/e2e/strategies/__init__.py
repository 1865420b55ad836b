"""Strategies written for the end-to-end tests (not examples for users)."""
