"""What every endpoint of the management API shares: its error body and its JSON parser."""
