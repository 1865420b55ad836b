"""Unit tests of the example strategies in ``macrofund.strategies``."""
