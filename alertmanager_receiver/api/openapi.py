"""The OpenAPI 3.0 document of the receiver's routes (a test keeps it equal to the real routes)."""

from __future__ import annotations

from .. import __version__


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERROR = {"$ref": "#/components/schemas/Error"}
OBJ = {"type": "object"}
ID_SCHEMA = {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}
ID_PARAM = {"name": "id", "in": "path", "required": True, "schema": ID_SCHEMA}
BY_BODY = {"required": False, "content": {"application/json": {"schema": {
    "type": "object", "properties": {"by": {"type": "string", "maxLength": 200}}}}}}


def _protected(op: dict) -> dict:
    op.setdefault("responses", {})["401"] = _json(ERROR, "missing or wrong credentials (when auth is configured)")
    op["security"] = [{"bearer": []}, {"basic": []}, {}]
    return op


def _payload_schema() -> dict:
    alert = {"type": "object", "required": ["status", "labels", "startsAt"], "properties": {
        "status": {"type": "string", "enum": ["firing", "resolved"]},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}, "minProperties": 1},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "startsAt": {"type": "string", "format": "date-time"},
        "endsAt": {"type": "string"},
        "generatorURL": {"type": "string"},
        "fingerprint": {"type": "string", "maxLength": 128}}}
    payload = {"type": "object", "required": ["version", "groupKey", "status", "receiver", "alerts"], "properties": {
        "version": {"type": "string", "enum": ["4"]},
        "groupKey": {"type": "string"},
        "truncatedAlerts": {"type": "integer", "minimum": 0},
        "status": {"type": "string", "enum": ["firing", "resolved"]},
        "receiver": {"type": "string"},
        "groupLabels": {"type": "object", "additionalProperties": {"type": "string"}},
        "commonLabels": {"type": "object", "additionalProperties": {"type": "string"}},
        "commonAnnotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "externalURL": {"type": "string"},
        "alerts": {"type": "array", "items": alert, "maxItems": 10000}}}
    return payload


INCIDENT_RESPONSES = {"200": _json(OBJ, "the incident"), "404": _json(ERROR, "no such incident"),
                      "409": _json(ERROR, "the incident was merged into another (merged_into names it)")}


def _webhook_paths() -> dict:
    return {"/webhook/alertmanager": {"post": _protected({
        "summary": "Alertmanager webhook (payload version 4); stored before the 2xx",
        "requestBody": {"required": True, "content": {"application/json": {"schema": _payload_schema()}}},
        "responses": {"200": _json(OBJ, "stored (new, duplicates, resolved, incidents)"),
                      "400": _json(ERROR, "malformed payload, with the reason"),
                      "413": _json(ERROR, "body larger than server.max_body_bytes"),
                      "503": _json(ERROR, "database unavailable or busy; Alertmanager retries")}})}}


def _incident_paths() -> dict:
    strings = {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 512}, "maxItems": 10000}
    return {
        "/api/v1/incidents": {"get": _protected({
            "summary": "List incidents, newest first",
            "parameters": [
                {"name": "status", "in": "query", "schema": {"type": "string", "enum": [
                    "open", "acknowledged", "resolving", "resolved", "merged"]}},
                {"name": "priority", "in": "query", "schema": {"type": "string", "enum": ["P1", "P2", "P3", "P4"]}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}}],
            "responses": {"200": _json(OBJ, "{incidents: [...]}"), "400": _json(ERROR, "bad filter")}})},
        "/api/v1/incidents/{id}": {"get": _protected({
            "summary": "An incident: alerts with join reasons, timeline, root-cause candidates, priority, summary, "
                       "merged_into (when absorbed) and (with prometheus.url) log_evidence",
            "parameters": [ID_PARAM],
            "responses": {"200": _json(OBJ, "the incident"), "404": _json(ERROR, "no such incident")}})},
        "/api/v1/incidents/{id}/ack": {"post": _protected({
            "summary": "Acknowledge", "parameters": [ID_PARAM], "requestBody": BY_BODY,
            "responses": {**INCIDENT_RESPONSES, "400": _json(ERROR, "bad body")}})},
        "/api/v1/incidents/{id}/resolve": {"post": _protected({
            "summary": "Resolve now", "parameters": [ID_PARAM], "requestBody": BY_BODY,
            "responses": {**INCIDENT_RESPONSES, "400": _json(ERROR, "bad body")}})},
        "/api/v1/incidents/{id}/feedback": {"post": _protected({
            "summary": "Record an operator verdict for the learning loop", "parameters": [ID_PARAM],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["verdict"], "properties": {
                    "verdict": {"type": "string", "enum": ["false_positive", "useful"]},
                    "comment": {"type": "string", "maxLength": 10000}}}}}},
            "responses": {"201": _json(OBJ, "stored"), "400": _json(ERROR, "bad verdict"),
                          "404": _json(ERROR, "no such incident"),
                          "409": _json(ERROR, "the incident was merged into another")}})},
        "/api/v1/incidents/{id}/split": {"post": _protected({
            "summary": "Move the alerts with these fingerprints (or of these services) into a new incident",
            "parameters": [ID_PARAM],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "properties": {"fingerprints": strings, "services": strings,
                                                 "by": {"type": "string", "maxLength": 200}}}}}},
            "responses": {"201": _json(OBJ, "{incident_id, new_incident_id, moved_alerts, by}"),
                          "400": _json(ERROR, "bad body, or the selection matches no alert or every alert"),
                          "404": _json(ERROR, "no such incident"),
                          "409": _json(ERROR, "the incident is not active (resolved or merged)")}})},
        "/api/v1/incidents/{id}/merge": {"post": _protected({
            "summary": "Merge another active incident with this one (the smaller into the larger)",
            "parameters": [ID_PARAM],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["incident_id"], "properties": {
                    "incident_id": ID_SCHEMA, "by": {"type": "string", "maxLength": 200}}}}}},
            "responses": {"200": _json(OBJ, "{survivor, absorbed, by}"), "400": _json(ERROR, "bad body"),
                          "404": _json(ERROR, "no such incident"),
                          "409": _json(ERROR, "an incident is not active (resolved or merged)")}})},
        "/api/v1/topology": {"get": _protected({
            "summary": "The dependency graph: configured, discovered and inferred edges with their source and counts",
            "responses": {"200": _json(OBJ, "{edges: [{from, to, source, ...}], criticality, discovery}")}})},
        "/api/v1/investigate": {"get": _protected({
            "summary": "Root-cause candidates for a service from metric evidence, without an incident",
            "parameters": [{"name": "service", "in": "query", "required": True,
                            "schema": {"type": "string", "minLength": 1, "maxLength": 512}},
                           {"name": "at", "in": "query", "schema": {"type": "string"},
                            "description": "unix seconds or RFC 3339; default now"}],
            "responses": {"200": _json(OBJ, "{service, at, window, candidates: [...]}"),
                          "400": _json(ERROR, "missing service, bad at, or metric_evidence not configured"),
                          "503": _json(ERROR, "Prometheus could not answer")}})},
        "/api/v1/feedback": {"get": _protected({
            "summary": "Operator verdicts recorded after `since`, oldest first, with the incident's alerts and labels",
            "parameters": [{"name": "since", "in": "query", "schema": {"type": "string"},
                            "description": "unix seconds or RFC 3339; default 0"},
                           {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 10000}}],
            "responses": {"200": _json(OBJ, "{feedback: [...]}"), "400": _json(ERROR, "bad since or limit")}})},
    }


def _action_paths() -> dict:
    return {
        "/api/v1/actions": {"get": _protected({
            "summary": "Automation audit trail: every decision (ran, skipped and why, failed, dry-run), newest first",
            "parameters": [
                {"name": "status", "in": "query", "schema": {"type": "string", "enum": [
                    "pending", "awaiting_approval", "running", "succeeded", "failed", "dry_run", "skipped",
                    "expired", "interrupted", "refused"]}},
                {"name": "rule", "in": "query", "schema": {"type": "string"}},
                {"name": "incident_id", "in": "query", "schema": ID_SCHEMA},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}}],
            "responses": {"200": _json(OBJ, "{actions: [...]}"), "400": _json(ERROR, "bad filter")}})},
        "/api/v1/actions/{id}/approve": {"post": _protected({
            "summary": "Approve an action waiting for approval (and the other actions of its trigger)",
            "parameters": [ID_PARAM], "requestBody": BY_BODY,
            "responses": {"200": _json(OBJ, "approved, queued"), "400": _json(ERROR, "bad body"),
                          "404": _json(ERROR, "no such action"),
                          "409": _json(ERROR, "not awaiting approval")}})},
        "/api/v1/automation": {"get": _protected({
            "summary": "Automation mode, rules and breaker state",
            "responses": {"200": _json(OBJ)}})},
        "/api/v1/automation/breaker/reset": {"post": _protected({
            "summary": "Close the circuit breaker", "requestBody": BY_BODY,
            "responses": {"200": _json(OBJ), "400": _json(ERROR, "bad body")}})},
    }


def _ops_paths() -> dict:
    return {
        "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "text"}}}},
        "/healthz": {"get": {"summary": "Liveness", "responses": {"200": _json(OBJ)}}},
        "/readyz": {"get": {"summary": "Readiness (database reachable)",
                            "responses": {"200": _json(OBJ), "503": _json(OBJ, "database unreachable")}}},
        "/openapi.json": {"get": {"summary": "This document", "responses": {"200": _json(OBJ)}}},
    }


def openapi_document() -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": "aiops-receiver", "version": __version__,
                 "description": "Alertmanager webhook receiver: durable ingest, incidents, root cause, priority."},
        "paths": {**_webhook_paths(), **_incident_paths(), **_action_paths(), **_ops_paths()},
        "components": {
            "schemas": {"Error": {"type": "object", "properties": {"error": {"type": "string"}}}},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "basic": {"type": "http", "scheme": "basic"}},
        },
    }
