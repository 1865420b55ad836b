"""Redis cache-aside: instruments, reference prices, latest positions and P&L."""
