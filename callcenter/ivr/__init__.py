"""The IVR: flows as data (flow, loader, check) and a sans-IO engine (engine)."""
