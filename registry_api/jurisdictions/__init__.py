"""Jurisdictions: the GB/T 2260 division tree as regulators see it (a unit with the units
below it) and the chemical parks admins add under a county or a city.

Above `accounts` (whose scope rules read the tree's rows); below every domain that files
by place."""
