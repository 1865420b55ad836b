"""SQL for the trading-state tables: batch writes, run bookkeeping and the reads behind ``macrofund db``."""
