"""The registry core: producers, products, lots, supply-chain events, the app factory."""
