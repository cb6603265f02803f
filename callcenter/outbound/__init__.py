"""Outbound work: callbacks, return visits and care calls, dialled within the rules
(issue 18; docs/outbound.md)."""
