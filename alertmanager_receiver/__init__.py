"""aiops receiver: Alertmanager webhook in, incidents with root cause and priority out."""

__version__ = "0.1.0"
