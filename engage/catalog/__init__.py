"""The product catalog, and recommendations drawn from it for messages."""
