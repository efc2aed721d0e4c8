"""What Rasa's own `rasa run` parser makes of the engine launcher's arguments (bot/engine/main.py).

The launcher's pure parts, seen from the app, are tests/tools/test_assistant.py's.
"""

from __future__ import annotations

import argparse

import pytest
from rasa.cli.arguments.run import add_server_arguments

from bot.engine.main import JWT_SECRET_ENV, rasa_arguments


@pytest.mark.parametrize("secret", ["s3cret", "-starts-with-a-dash", "--looks-like-an-option"])
def test_rasa_reads_every_url_safe_secret_as_the_jwt_secret(secret: str) -> None:
    # secrets.token_urlsafe starts with "-" once in 64; as a separate word argparse took it for
    # an option and the engine did not start (a CI run lost five tests to it).
    arguments = rasa_arguments(["run"], {JWT_SECRET_ENV: secret})[1:]
    parser = argparse.ArgumentParser()
    add_server_arguments(parser)
    assert vars(parser.parse_args(arguments))["jwt_secret"] == secret
