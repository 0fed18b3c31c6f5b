"""Drafts, 意見照会, the approval route (決裁) and publishing."""
