"""Run real Prometheus / Alertmanager binaries locally: for tests, the demo and benchmarks."""
