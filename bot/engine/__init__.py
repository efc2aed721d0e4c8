"""What the Rasa engine loads (.venv-rasa, Python 3.10): channels, tracker and lock stores, fault
handling, turn metrics and the entry `python -m bot.engine`. On the engine's path only this
package and bot.common (tools/assistant.py `plugin_path`); imports of the project outside them are
refused by import-linter (pyproject.toml)."""
