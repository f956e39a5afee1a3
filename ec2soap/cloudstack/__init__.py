"""CloudStack: the API spec we are held to, a non-blocking client, and a built-in simulator."""
