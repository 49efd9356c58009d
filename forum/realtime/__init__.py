"""Live updates: the event broker between app processes and the websocket hub."""
