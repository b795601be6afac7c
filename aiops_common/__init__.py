"""Pieces both programs use: config loading whose errors name the key, durations, auth, serving.

The exporter and the receiver each depend on this package, never on each other.
It needs only pyyaml, pydantic and the standard library (waitress at serve time).
"""
