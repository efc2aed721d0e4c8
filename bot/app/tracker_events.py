"""Rasa 3.6's tracker store table, for the code that reads or deletes conversations directly.

The engine (its SQLTrackerStore) owns and creates the table; the staff console reads it and
retention deletes from it. Declared once here, column for column as Rasa's `SQLEvent`.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text

tracker_metadata = MetaData()

events = Table(
    "events",
    tracker_metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)
