"""Scheduled jobs: the worker that sends digests and harvests arXiv."""
