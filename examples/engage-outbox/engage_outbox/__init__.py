"""An outbox channel: messages written to a table of this package's own for
another system to read. See README.md."""
