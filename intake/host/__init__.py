"""The host administrator: accounts, sign-in, sessions and the /host pages (tenants, no content)."""
