"""Oversight: what regulators read across the enterprises of their jurisdiction, the
highest domain of the registry — search of enterprises and products, an enterprise's whole
file with its audit trail, and the notices (通知公告) admins publish down the tree with their
read receipts (later: rosters, statistics). It imports the domains below it (reviews,
products, enterprises, accounts) and changes none of their records."""
