"""B3 (BVMF) over EntryPoint FIX 4.4: venue profile, symbology and DI1 maths.

Kept import-light on purpose: ``macrofund.venues.b3`` imports ``di1`` to build the DI1 spec.
"""
