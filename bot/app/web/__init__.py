"""The web app: widget assets and demo page, saved advice pages, staff console, health."""
