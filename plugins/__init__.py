"""engage's built-in plugins.

Each module registers through the ``engage.plugins`` entry-point group in
pyproject.toml, the same way a third-party package does; engage never imports
them directly.
"""
