"""The staff review console: advisors and maintainers read conversations, tag and correct
them, follow up handoffs and export training data. Served under /console by the web app.

Tables live in the app database (`bot.app.db.Base`); conversations are read, never written,
from Rasa's SQL tracker store. See docs/architecture.md, "Staff console".
"""
