"""The web console: the registry's pages for enterprises and regulators, under /console/.

Server-rendered pages over the registry's own operations (the ones the JSON API calls), so
authorization and rules cannot diverge; no SQL here.
"""
