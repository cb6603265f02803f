"""The CTI hub: the service's events on their way to the agents' and supervisors' screens.

Pure (no web framework, no database, no PBX): it takes events from the in-process bus
(callcenter/events/), decides who may see each (:mod:`callcenter.cti.routing`) and what of
each a socket gets (:mod:`callcenter.cti.projections`), keeps the screen pops still ringing
per agent (:mod:`callcenter.cti.pops`), and hands every connection its messages through a
bounded queue (:mod:`callcenter.cti.hub`). The websocket edge is callcenter/api/ws.py; the
catalogue of messages is docs/events.md.
"""
