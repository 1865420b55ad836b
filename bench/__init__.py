"""Benchmarks, run by ``make bench``; each prints figures and ends with one JSON line per target."""
