"""Customers: onboarding, profiles, KYC documents and decisions for the app."""
