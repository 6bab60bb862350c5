"""The cross-account governance report: every model package version of every account, its card,
who approved it, its evidence and where it is deployed, and what breaks the policy."""
