"""Paper venue: the sandbox execution client with the backtest's fill and fee models."""
