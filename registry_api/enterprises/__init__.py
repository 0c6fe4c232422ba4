"""Enterprises: the public application for an enterprise account, its approval or
rejection by a county or city admin, and the enterprise record (annex 3 items, park,
aging installations) with its updates.

Imports `accounts` and `jurisdictions`."""
