"""Zijwijzer's catalogue of care qualifications, units, routes and funding, and the advice engine.

This package knows nothing of Rasa: the actions call it, the CLI calls it, tests call it.
"""
