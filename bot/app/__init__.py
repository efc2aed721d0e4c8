"""The app runtime (.venv, Python 3.12): web app, staff console, action server, handoff,
saved advice and its PDF, retention. Never on the engine's path."""
