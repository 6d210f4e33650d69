"""Event processing: claim unprocessed events in batches and resolve their profiles."""


def process_pending() -> int:
    """Process every pending event; returns how many were processed."""
    raise NotImplementedError("identity resolution lands with the processing work")
