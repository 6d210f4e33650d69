"""Import runs: background imports with progress, history and saved cursors."""
