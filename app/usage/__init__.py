"""Usage counting: page views per unit and month (活用状況) — see services."""
