"""`python -m bot.console`: see bot/console/cli.py."""

from __future__ import annotations

import sys

from bot.console.cli import main

sys.exit(main())
