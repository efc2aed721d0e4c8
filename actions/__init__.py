"""Custom actions of Zijwijzer, served by rasa-sdk (`python -m rasa_sdk --actions actions`).

The SDK imports every submodule of this package and registers every non-abstract
`Action` subclass it finds, so shared behaviour lives in abstract classes (base.py).
"""

import warnings

# rasa-sdk 3.21 warns once per process that it does not match the engine's version (3.6.21).
# The two were checked to exchange the same webhook JSON, slots and events (engineering notes,
# and tests/integration), so exactly this one warning is silenced; every other one still shows.
warnings.filterwarnings(
    "ignore",
    message=r"Your versions of rasa and rasa_sdk might not be compatible",
    category=UserWarning,
)
