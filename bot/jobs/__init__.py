"""Scheduled jobs run by the JobQueue; each a small module."""
