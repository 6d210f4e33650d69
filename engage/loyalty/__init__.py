"""Loyalty programmes: points and tiers that follow the customer everywhere."""
