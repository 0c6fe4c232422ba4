"""Oversight: what regulators read across the enterprises of their jurisdiction, the
highest domain of the registry — search of enterprises and products, and an enterprise's
whole file with its audit trail (later: rosters, statistics). It imports the domains below
it (reviews, products, enterprises, accounts) and changes nothing."""
