"""How the running server behaves around the views: request ids in its logs,
answers while a dependency is down, refusing to start with a public key."""
