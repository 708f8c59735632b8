"""Notifications of published and failed jobs: signed webhook, SNS, local log."""
