"""Standard-library-only code both runtimes share: the engine (.venv-rasa, Python 3.10) and the
app (.venv, Python 3.12). Imports nothing of the project outside bot.common (pyproject.toml,
import-linter)."""
