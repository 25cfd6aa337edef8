"""The OpenAPI 3.0 document of the mock's `/v1` and `/__mock` endpoints.

Served at `GET /__mock/openapi.json`. It describes what the mock does, which is what
Refiner documents plus the mock's choices where Refiner is silent (`docs/fidelity.md`);
the test suite runs schemathesis against it, in-process, to check that no generated
request gets a server error or a reply the document does not describe.

Limitations: request bodies are described loosely (any object), since Refiner takes
arbitrary traits and answers; query parameters are described as Refiner's clients
send them.
"""

from typing import Any

from mock_refiner.faults import (
    MAX_DELAY_MS,
    MAX_PATH_LENGTH,
    MAX_RETRY_AFTER,
    MAX_SEED,
    MAX_TIMES,
)

TEXT = {"type": "string"}
NULLABLE_TEXT = {"type": "string", "nullable": True}
TIME = {"type": "string", "format": "date-time"}
NULLABLE_TIME = {"type": "string", "nullable": True}
TRAIT_VALUE: dict = {}
ANY_OBJECT = {"type": "object", "additionalProperties": True}


def obj(properties: dict[str, Any], required: bool = True) -> dict[str, Any]:
    """An object schema whose listed properties are all required."""
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required and properties:
        schema["required"] = list(properties)
    return schema


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


ACCOUNT = obj(
    {
        "uuid": TEXT,
        "remote_id": TEXT,
        "display_name": NULLABLE_TEXT,
        "domain": NULLABLE_TEXT,
        "first_seen_at": TEXT,
        "last_seen_at": TEXT,
        "attributes": {"type": "object", "additionalProperties": TRAIT_VALUE},
    }
)
CONTACT = obj(
    {
        "uuid": TEXT,
        "remote_id": NULLABLE_TEXT,
        "email": NULLABLE_TEXT,
        "display_name": NULLABLE_TEXT,
        "first_seen_at": TEXT,
        "last_seen_at": TEXT,
        "last_tracking_event_at": NULLABLE_TEXT,
        "attributes": {"type": "object", "additionalProperties": TRAIT_VALUE},
        "segments": array(obj({"uuid": TEXT, "name": TEXT, "created_at": TEXT})),
        "account": {**ref("Account"), "nullable": True},
    }
)
SEGMENT = obj({"uuid": TEXT, "name": TEXT, "is_manual": {"type": "boolean"}})
FORM = {
    "type": "object",
    "properties": {"uuid": TEXT, "name": TEXT, "config": ANY_OBJECT},
    "required": ["uuid", "name"],
}
RESPONSE = obj(
    {
        "uuid": TEXT,
        "first_shown_at": TEXT,
        "last_shown_at": TEXT,
        "show_counter": {"type": "integer"},
        "first_data_reception_at": NULLABLE_TEXT,
        "last_data_reception_at": NULLABLE_TEXT,
        "completed_at": NULLABLE_TEXT,
        "received_at": NULLABLE_TEXT,
        "dismissed_at": NULLABLE_TEXT,
        "form": obj({"uuid": TEXT, "name": NULLABLE_TEXT}),
        "data": ANY_OBJECT,
        "tags": array(obj({"uuid": TEXT, "name": TEXT})),
        "contact": {
            "type": "object",
            "properties": {"uuid": TEXT, "attributes": ANY_OBJECT},
            "required": ["uuid", "remote_id", "email", "display_name", "account"],
        },
    }
)
PAGINATION = obj(
    {
        "items_count": {"type": "integer", "minimum": 0},
        "current_page": {"type": "integer", "minimum": 1},
        "last_page": {"type": "integer", "minimum": 1},
        "page_length": {"type": "integer", "minimum": 1, "maximum": 1000},
        "next_page_cursor": NULLABLE_TEXT,
    }
)
ERROR = {
    "type": "object",
    "properties": {"error": TEXT, "message": TEXT},
    "anyOf": [{"required": ["error"]}, {"required": ["message"]}],
}
MESSAGE = obj({"message": TEXT})


def whole(low: int, high: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": low, "maximum": high, "nullable": True}


FAULT_FIELDS: dict[str, Any] = {
    "path": {"type": "string", "minLength": 1, "maxLength": MAX_PATH_LENGTH},
    "method": NULLABLE_TEXT,
    "status": whole(400, 599),
    "body": {"nullable": True},
    "retry_after": whole(0, MAX_RETRY_AFTER),
    "delay_ms": whole(0, MAX_DELAY_MS),
    "drop": {"type": "boolean"},
    "times": whole(1, MAX_TIMES),
    "probability": {"type": "number", "minimum": 0, "maximum": 1, "nullable": True},
    "seed": whole(0, MAX_SEED),
}
FAULT_RULE = {
    "oneOf": [
        {
            "type": "object",
            "properties": FAULT_FIELDS,
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {"spec": TEXT},
            "required": ["spec"],
            "additionalProperties": False,
        },
    ]
}
FAULT = obj(
    {
        "id": {"type": "integer", "minimum": 1},
        "spec": TEXT,
        **FAULT_FIELDS,
        "faulted": {"type": "integer", "minimum": 0},
        "remaining": whole(0, MAX_TIMES),
    }
)

SCHEMAS = {
    "Account": ACCOUNT,
    "Contact": CONTACT,
    "Segment": SEGMENT,
    "Form": FORM,
    "Response": RESPONSE,
    "Pagination": PAGINATION,
    "Error": ERROR,
    "Message": MESSAGE,
    "FaultRule": FAULT_RULE,
    "Fault": FAULT,
}

PAGE_PARAMETERS = [
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
    {
        "name": "page_length",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
    },
    {"name": "page_cursor", "in": "query", "schema": TEXT},
]
CONTACT_PARAMETERS = [
    {"name": name, "in": "query", "schema": TEXT} for name in ("uuid", "id", "email")
]


def query(*names: str) -> list[dict[str, Any]]:
    return [{"name": name, "in": "query", "schema": TEXT} for name in names]


def list_of(*names: str) -> list[dict[str, Any]]:
    """Repeated query parameters such as `form_uuids[]=a&form_uuids[]=b`."""
    return [
        {
            "name": name,
            "in": "query",
            "schema": {"type": "array", "items": TEXT},
            "style": "form",
            "explode": True,
        }
        for name in names
    ]


LIST_FILTERS = list_of("form_uuids[]", "segment_uuids[]", "tag_uuids[]")
DATA_FILTERS = [
    {
        "name": name,
        "in": "query",
        "schema": {"type": "object", "additionalProperties": TEXT},
        "style": "deepObject",
        "explode": True,
    }
    for name in ("response_data", "contact_data", "account_data")
]


def reply(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }


def errors(*statuses: int) -> dict[str, Any]:
    """The refusals every `/v1` call can get, plus the operation's own."""
    found = {400, 401, 404, 405, 415, 429, 500, *statuses}
    return {str(status): reply(ref("Error"), "Refused") for status in sorted(found)}


def page_of(schema_name: str) -> dict[str, Any]:
    return obj({"items": array(ref(schema_name)), "pagination": ref("Pagination")})


def body() -> dict[str, Any]:
    return {
        "required": False,
        "content": {
            "application/json": {"schema": ANY_OBJECT},
            "application/x-www-form-urlencoded": {"schema": ANY_OBJECT},
        },
    }


def v1(
    summary: str,
    success: dict[str, Any],
    parameters: list | None = None,
    with_body: bool = False,
    extra: tuple[int, ...] = (),
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "security": [{"bearer": []}, {"basic": []}, {"apiKeyQuery": []}],
        "responses": {"200": reply(success), **errors(*extra)},
    }
    if parameters:
        operation["parameters"] = parameters
    if with_body:
        operation["requestBody"] = body()
    return operation


def fault_paths() -> dict[str, Any]:
    """The `/__mock/faults` operations."""
    return {
        "/__mock/faults": {
            "get": {
                "summary": "The fault rules, with the calls each has faulted",
                "responses": {"200": reply(obj({"faults": array(ref("Fault"))}))},
            },
            "post": {
                "summary": "Add a fault rule (docs/faults.md)",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref("FaultRule")}},
                },
                "responses": {
                    "201": reply(obj({"message": TEXT, "fault": ref("Fault")})),
                    "400": reply(ref("Error"), "Not a valid fault rule"),
                },
            },
            "delete": {
                "summary": "Remove every fault rule",
                "responses": {
                    "200": reply(obj({"message": TEXT, "cleared": {"type": "integer"}}))
                },
            },
        },
    }


def document() -> dict[str, Any]:
    """The whole OpenAPI document."""
    key_check = v1(
        "Check the API key",
        obj({"project_uuid": TEXT, "project_name": TEXT, "message": TEXT}),
    )
    track = v1("Track an event", MESSAGE, with_body=True, extra=(403,))
    sync_reply = obj({"message": TEXT, "contact_uuid": TEXT, "segment_uuid": TEXT})
    usage = obj({"uuid": TEXT, "name": TEXT, "mtu": {"type": "integer"}})
    paths = {
        "/v1": {"get": key_check},
        "/v1/": {"get": key_check},
        "/v1/identify-user": {
            "post": v1(
                "Create or update a contact",
                obj({"message": TEXT, "contact_uuid": TEXT}),
                with_body=True,
            )
        },
        "/v1/track-event": {"post": track},
        "/v1/track": {"post": track},
        "/v1/contacts": {
            "get": v1(
                "List contacts",
                page_of("Contact"),
                [
                    *PAGE_PARAMETERS,
                    *query("order_by", "form_uuid", "segment_uuid", "search"),
                ],
            )
        },
        "/v1/contact": {
            "get": v1("Get a contact", ref("Contact"), CONTACT_PARAMETERS),
            "delete": v1(
                "Delete a contact and its responses", MESSAGE, CONTACT_PARAMETERS
            ),
        },
        "/v1/segments": {
            "get": v1("List segments", page_of("Segment"), PAGE_PARAMETERS)
        },
        "/v1/sync-segment": {
            "post": v1("Add a contact to a manual segment", sync_reply, with_body=True),
            "delete": v1(
                "Remove a contact from a manual segment",
                sync_reply,
                query("segment_uuid", "id", "email"),
                with_body=True,
            ),
        },
        "/v1/responses": {
            "get": v1(
                "List responses",
                page_of("Response"),
                [
                    *PAGE_PARAMETERS,
                    *query(
                        "form_uuid",
                        "segment_uuid",
                        "tag_uuid",
                        "include",
                        "search",
                        "date_range_start",
                        "date_range_end",
                        "with_attributes",
                    ),
                    *LIST_FILTERS,
                    *DATA_FILTERS,
                ],
            ),
            "post": v1(
                "Store a response", obj({"message": TEXT, "uuid": TEXT}), with_body=True
            ),
        },
        "/v1/responses/tags": {"post": v1("Tag a response", MESSAGE, with_body=True)},
        "/v1/forms": {
            "get": v1(
                "List forms",
                page_of("Form"),
                [*PAGE_PARAMETERS, *query("list", "include_info", "include_config")],
            ),
            "delete": v1("Archive a form", MESSAGE, query("form_uuid"), with_body=True),
        },
        "/v1/forms/publish": {"post": v1("Publish a form", MESSAGE, with_body=True)},
        "/v1/forms/duplicate": {
            "post": v1(
                "Duplicate a form",
                obj({"source_form_uuid": TEXT, "new_form_uuid": TEXT}),
                with_body=True,
            )
        },
        "/v1/account": {
            "get": v1(
                "Plan and usage",
                obj({"subscription": ANY_OBJECT, "environments": array(usage)}),
            )
        },
        "/v1/reporting": {
            "get": v1(
                "Survey reports",
                ANY_OBJECT,
                [
                    *query("type", "date_range_start", "date_range_end"),
                    *LIST_FILTERS,
                    *list_of("question_identifiers[]"),
                    *DATA_FILTERS,
                ],
            )
        },
        "/__mock/state": {
            "get": {
                "summary": "The state of every environment, or of one",
                "parameters": query("api_key"),
                "responses": {"200": reply(ANY_OBJECT)},
            },
            "put": {
                "summary": "Replace the state (seeding)",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ANY_OBJECT}},
                },
                "responses": {
                    "200": reply(
                        obj({"message": TEXT, "environments": {"type": "integer"}})
                    ),
                    "400": reply(ref("Error"), "Not a valid state document"),
                },
            },
        },
        "/__mock/calls": {
            "get": {
                "summary": "The journal of calls",
                "parameters": query("path", "status"),
                "responses": {
                    "200": reply(
                        obj(
                            {
                                "calls": array(ANY_OBJECT),
                                "dropped": {"type": "integer", "minimum": 0},
                            }
                        )
                    ),
                    "400": reply(ref("Error"), "A bad filter"),
                },
            }
        },
        "/__mock/reset": {
            "post": {
                "summary": "Clear the state, the journal and the fault rules, or one",
                "parameters": query("what"),
                "responses": {
                    "200": reply(obj({"message": TEXT, "reset": array(TEXT)})),
                    "400": reply(ref("Error"), "An unknown part"),
                },
            }
        },
    }
    # Last, so the fault rules a test adds through it reach no other operation.
    paths.update(fault_paths())
    return {
        "openapi": "3.0.3",
        "info": {"title": "Refiner API mock", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "basic": {"type": "http", "scheme": "basic"},
                "apiKeyQuery": {"type": "apiKey", "in": "query", "name": "api_key"},
            },
        },
    }
