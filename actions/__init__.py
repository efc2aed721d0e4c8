"""Custom actions of Zijwijzer, served by rasa-sdk (`python -m rasa_sdk --actions actions`).

The SDK imports every submodule of this package and registers every non-abstract
`Action` subclass it finds, so shared behaviour lives in abstract classes (base.py).
"""
