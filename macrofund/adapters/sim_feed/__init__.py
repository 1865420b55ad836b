"""In-process market-data simulator (seeded GBM on each instrument's tick grid, inside its sessions)."""
