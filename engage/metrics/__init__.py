"""Business metrics (value, retention, attribution, journeys, service), set-based in SQL."""
