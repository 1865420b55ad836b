"""Venue-neutral FIX 4.4: message model, codec, session layer and order translation."""
