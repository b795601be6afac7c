"""aiops exporter: forecast bands and anomaly scores for Prometheus series."""

__version__ = "0.1.0"
