"""MultiPairManager, PairEngine and the service API: the trading cycle."""
