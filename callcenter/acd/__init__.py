"""The ACD: agents and their states, queues, the routing policy (pure), and the service that
applies its decisions (over the PBX link)."""
