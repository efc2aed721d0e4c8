"""`python -m bot.app.console`: see bot/app/console/cli.py."""

from __future__ import annotations

import sys

from bot.app.console.cli import main

sys.exit(main())
