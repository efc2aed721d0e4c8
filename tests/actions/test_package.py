"""The actions package silences exactly rasa-sdk's version warning, and nothing else."""

from __future__ import annotations

import importlib
import warnings

from rasa_sdk import utils

import actions


def test_only_the_sdk_version_warning_is_silenced() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.resetwarnings()
        warnings.simplefilter("always")
        importlib.reload(actions)  # installs the package's filter again, after the reset
        utils.check_version_compatibility("3.6.21")  # the engine we run: silenced
        utils.check_version_compatibility(None)  # another warning of the SDK: still shown
    messages = [str(w.message) for w in caught]
    assert not any(m.startswith("Your versions of rasa and rasa_sdk") for m in messages)
    assert any("old version of rasa" in m for m in messages)
