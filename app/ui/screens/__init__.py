"""One module per tab: home, households, visits, issues, sync, settings."""
