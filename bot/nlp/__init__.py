"""The Dutch spaCy pipeline used by the Rasa engine (built by build_pipeline.py)."""
