"""Market analysis shared by every engine on a symbol: indicators and the market snapshot builder."""
