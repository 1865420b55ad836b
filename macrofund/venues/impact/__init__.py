"""venues/impact."""
