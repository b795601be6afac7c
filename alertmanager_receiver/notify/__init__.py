"""Telling people: the plain-language summary, ChatOps messages, Grafana annotations."""
