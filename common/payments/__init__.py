"""Payments: provider webhooks normalised into payments, and their listing."""
