"""The web face: the Flask app and its routes, the WebSocket hub, the server, pairing."""
