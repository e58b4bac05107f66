"""The OpenAPI 3.1 document of ``/api/v1`` (served at /api/v1/openapi.json; a test validates
it and checks that every route is in it)."""

from __future__ import annotations

from typing import Any

from opsbook import __version__

_ERROR = {
    "description": "an error",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
_AUTH_ERRORS = {"401": _ERROR, "403": _ERROR}


def _ok(schema: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "INC-YYYY-MM-DD-N",
}
_OBJECT: dict[str, Any] = {"type": "object", "additionalProperties": True}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "opsbook API",
            "version": __version__,
            "description": "The JSON shapes of the opsbook CLI's --format json.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"token": []}],
        "components": {
            "securitySchemes": {
                "token": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "opsbook token create NAME --role …",
                }
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {"type": "string"}},
                },
                "Incident": _OBJECT,
                "IncidentPage": {
                    "type": "object",
                    "required": ["incidents", "total"],
                    "properties": {
                        "incidents": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Incident"},
                        },
                        "total": {"type": "integer"},
                        "limit": {"type": "integer"},
                        "offset": {"type": "integer"},
                    },
                },
                "Checks": _OBJECT,
                "Alerts": _OBJECT,
                "Jobs": _OBJECT,
                "Note": {
                    "type": "object",
                    "required": ["text"],
                    "properties": {"text": {"type": "string", "minLength": 1}},
                },
            },
        },
        "paths": {
            "/incidents": {
                "get": {
                    "summary": "Incidents, newest first",
                    "parameters": [
                        {"name": "open", "in": "query", "schema": {"type": "boolean"}},
                        {
                            "name": "severity",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 4},
                        },
                        {
                            "name": "since",
                            "in": "query",
                            "schema": {"type": "string"},
                            "description": "7d, 24h, or a date",
                        },
                        {"name": "q", "in": "query", "schema": {"type": "string"}},
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"type": "integer", "maximum": 500},
                        },
                        {"name": "offset", "in": "query", "schema": {"type": "integer"}},
                    ],
                    "responses": {
                        "200": _ok("IncidentPage", "a page of incidents"),
                        "400": _ERROR,
                        **_AUTH_ERRORS,
                    },
                }
            },
            "/incidents/{id}": {
                "get": {
                    "summary": "One incident with its timeline, action items, suggested actions",
                    "parameters": [_ID],
                    "responses": {
                        "200": _ok("Incident", "the incident"),
                        "404": _ERROR,
                        **_AUTH_ERRORS,
                    },
                }
            },
            "/incidents/{id}/ack": {
                "post": {
                    "summary": "Acknowledge (a responder's token): the escalation stops",
                    "parameters": [_ID],
                    "responses": {
                        "200": _ok("Incident", "acknowledged"),
                        "404": _ERROR,
                        "409": _ERROR,
                        **_AUTH_ERRORS,
                    },
                }
            },
            "/incidents/{id}/notes": {
                "post": {
                    "summary": "Add a note to the timeline (a responder's token)",
                    "parameters": [_ID],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Note"}}
                        },
                    },
                    "responses": {
                        "201": _ok("Incident", "noted"),
                        "400": _ERROR,
                        "404": _ERROR,
                        **_AUTH_ERRORS,
                    },
                }
            },
            "/checks": {
                "get": {
                    "summary": "Every check's latest result",
                    "responses": {"200": _ok("Checks", "the checks"), **_AUTH_ERRORS},
                }
            },
            "/alerts": {
                "get": {
                    "summary": "Every alert and its state",
                    "responses": {"200": _ok("Alerts", "the alerts"), **_AUTH_ERRORS},
                }
            },
            "/jobs": {
                "get": {
                    "summary": "The calendar's jobs and their last runs",
                    "responses": {"200": _ok("Jobs", "the jobs"), **_AUTH_ERRORS},
                }
            },
        },
    }
