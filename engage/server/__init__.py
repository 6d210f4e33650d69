"""How the running server behaves around the views: request ids in its logs,
answers while the database is down, work handed to the broker without ever
failing a request, and refusing to start with the public development key."""
