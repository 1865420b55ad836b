"""A local FIX 4.4 venue (``macrofund exchange-sim``): B3 or CME order entry for local runs and CI."""
