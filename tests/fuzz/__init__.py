"""Fuzzing of every parser of outside input (issue 9); budgets in tests/fuzz/budget.py."""
