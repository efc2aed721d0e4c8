"""`python -m catalogue`: the command line (catalogue/cli.py) on the configured database.

The one module of the catalogue that reads the settings (bot/common/settings.py, standard
library only): it is the caller that passes them in, so the rest of the package imports nothing
of bot (import-linter, pyproject.toml, names this one import).
"""

import sys

from bot.common.settings import load_settings
from catalogue.cli import main


def _configured_database_url() -> str:
    return load_settings().database_url


sys.exit(main(database_url=_configured_database_url))
