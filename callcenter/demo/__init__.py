"""Demo data: a deterministic brokerage (branches, staff, clients, their history and queues).

Not part of the domain: ``callcenter seed``, the benchmarks and the tests use it; the domain
packages (crm, acd, ivr, cti) must never import it (an import-linter contract holds this).
It reads the domain's rules (tiers, segmentation, PIN hashing, queue configs) so that the data
it builds obeys them. Start at :mod:`callcenter.demo.brokerage`.
"""
