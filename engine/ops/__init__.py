"""Operations: the command log, the worker heartbeat, readiness and gauges, backup and restore.

Leaf modules: `logs` imports only the standard library, so any engine module may use it.
"""
