"""Email: transport (SMTP / console), subscriptions, signed links, digests, outbox and bounces."""
