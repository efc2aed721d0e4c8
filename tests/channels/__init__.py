"""Recruiter channels: Telegram and Slack."""
