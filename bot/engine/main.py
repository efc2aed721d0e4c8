"""`python -m bot.engine run ...`: Rasa's command line, with the HTTP API's secret kept off it.

Engine side (.venv-rasa; bot.engine and bot.common on PYTHONPATH through build/rasa-plugins). Rasa
3.6 takes the
JWT secret of its HTTP API only as a command-line argument, which every local user can read
(`ps`, /proc/<pid>/cmdline). tools/assistant.py starts the engine through this module instead,
with the secret in ZIJWIJZER_ENGINE_API_JWT_SECRET: the arguments are completed inside the
process, so the visible command line never holds the secret. Without the variable the HTTP API
stays off. It also installs the engine's fault handling (bot/engine/engine_faults.py) before Rasa
starts. Standard library only until Rasa itself is imported.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Mapping, Sequence

JWT_SECRET_ENV = "ZIJWIJZER_ENGINE_API_JWT_SECRET"  # noqa: S105 (a variable name)


def rasa_arguments(argv: Sequence[str], environ: Mapping[str, str]) -> list[str]:
    """Rasa's arguments: `argv`, plus the JWT-only HTTP API for `run` when a secret is set."""
    arguments = list(argv)
    secret = environ.get(JWT_SECRET_ENV, "").strip()
    if not secret or arguments[:1] != ["run"]:
        return arguments
    # Never --auth-token: Rasa reads that token from the query string, into logs and histories.
    # "--jwt-secret=VALUE" in one word: a URL-safe secret can start with "-" (1 in 64 from
    # secrets.token_urlsafe), which argparse takes for an option and the engine does not start.
    return [*arguments, "--enable-api", f"--jwt-secret={secret}", "--jwt-method", "HS256"]


def main() -> None:
    # numpy.distutils sets the root logger to WARNING when first imported, which happens in
    # the model load (LogisticRegressionClassifier -> skops -> sklearn's estimator list):
    # every INFO line after it, the turn lines among them, would be lost. Imported here, before
    # Rasa configures logging, its setting is overwritten by Rasa's.
    importlib.import_module("numpy.distutils.log")
    from rasa.__main__ import main as rasa_main

    from bot.engine import engine_faults
    from bot.engine.channels import metrics as engine_metrics

    # Before Rasa makes its agent: no silent in-memory fallback when the tracker database
    # fails, and a short, honest end to an action server that is down or slow.
    engine_faults.install()
    engine_metrics.install()  # turn metrics and request ids; keeps JSON logs (bot/common/logs.py)
    sys.argv = ["rasa", *rasa_arguments(sys.argv[1:], os.environ)]
    rasa_main()
