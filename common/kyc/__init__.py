"""KYC: identity document checks and the decisions taken on them."""
