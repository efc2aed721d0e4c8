"""The dialogue simulator's answer pools and the stack it talks to (tools/simulate.py)."""
