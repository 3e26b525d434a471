"""Checks of monitoring/: Prometheus, Alertmanager and Grafana configuration."""
