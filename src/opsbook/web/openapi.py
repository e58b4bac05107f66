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
                "Object": _OBJECT,
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
            **more_paths(),
        },
    }


def _body(required: list[str], **props: dict[str, Any]) -> dict[str, Any]:
    return {
        "required": True,
        "content": {"application/json": {"schema": {
            "type": "object", "required": required, "properties": props}}},
    }  # fmt: skip


_STR: dict[str, Any] = {"type": "string"}
_NUM = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}


def _get(summary: str, params: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"get": {"summary": summary, "parameters": params or [],
                    "responses": {"200": _ok("Object", "found"), "400": _ERROR, "404": _ERROR,
                                  **_AUTH_ERRORS}}}  # fmt: skip


def _act(method: str, summary: str, params: list[dict[str, Any]],
         body: dict[str, Any] | None, created: bool = False) -> dict[str, Any]:  # fmt: skip
    op: dict[str, Any] = {
        "summary": summary + " (a responder's token)",
        "parameters": params,
        "responses": {"201" if created else "200": _ok("Object", "done"), "400": _ERROR,
                      "404": _ERROR, "409": _ERROR, **_AUTH_ERRORS},
    }  # fmt: skip
    if body is not None:
        op["requestBody"] = body
    return {method: op}


def more_paths() -> dict[str, Any]:
    """The routes of web/api_more.py."""
    group = {"name": "group", "in": "query", "required": False,
             "schema": {"type": "string", "enum": ["humans", "alerts", "deliveries"]}}  # fmt: skip
    since = {"name": "since", "in": "query", "required": False, "schema": _STR}
    name = {"name": "name", "in": "path", "required": True, "schema": _STR}
    return {
        "/incidents/{id}/timeline": _get("The timeline, oldest first, by group", [_ID, group]),
        "/incidents/{id}/severity": _act("post", "Change the severity", [_ID],
                                         _body(["level", "why"], level={"type": "integer"},
                                               why=_STR)),
        "/incidents/{id}/phase": _act("post", "Move to a phase", [_ID],
                                      _body(["phase"], phase=_STR)),
        "/incidents/{id}/assign": _act("post", "Make a person the owner", [_ID],
                                       _body(["person"], person=_STR)),
        "/incidents/{id}/resolve": _act("post", "Resolve", [_ID], _body(["why"], why=_STR)),
        "/incidents/{id}/reopen": _act("post", "Reopen", [_ID], _body([], why=_STR)),
        "/incidents/{id}/actions/{action}": {"post": {
            "summary": "Run a containment action for the incident, in the background (a role "
                       "the action allows); its start and end go on the timeline",
            "parameters": [_ID, {"name": "action", "in": "path", "required": True,
                                 "schema": _STR}],
            "responses": {"202": _ok("Object", "started"), "403": _ERROR, "404": _ERROR,
                          "401": _ERROR}}},
        "/silences": {
            **_get("Silences in force (?all=1: ended ones too)"),
            **_act("post", "Silence a check for a while", [],
                   _body(["matcher", "why"], matcher=_STR, why=_STR, until=_STR,
                         **{"for": _STR}), created=True),
        },
        "/silences/{id}": _act("delete", "Expire a silence now", [_NUM], None),
        "/oncall": _get("Who is on call now and next, per schedule and layer"),
        "/oncall/overrides": {
            **_get("Overrides that have not ended"),
            **_act("post", "Make a person cover a schedule for a span", [],
                   _body(["schedule", "person", "from", "until"], schedule=_STR,
                         person=_STR, layer=_STR, why=_STR, until=_STR,
                         **{"from": _STR}), created=True),
        },
        "/oncall/overrides/{id}": _act("delete", "Remove an override", [_NUM], None),
        "/checks/{name}/history": _get("Uptime, periods and measurements", [name, since]),
        "/backups": _get("Every backup in the repositories, with its verification"),
        "/actions/log": _get("Containment actions run, newest first"),
    }  # fmt: skip
