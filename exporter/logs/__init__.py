"""`aiops-exporter logs`: follow log files, mine message templates, export their counts as series."""
