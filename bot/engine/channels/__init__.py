"""Engine-side input channels (loaded by Rasa in .venv-rasa via credentials.yml)."""
