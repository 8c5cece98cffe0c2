"""Slack: slack-bolt adapter, App Home and Block Kit rendering."""
