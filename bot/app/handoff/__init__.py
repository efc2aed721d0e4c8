"""Handoff to a human advisor: stored requests and their delivery through an outbox."""
