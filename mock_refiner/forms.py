"""Survey ("form") operations: list, publish, duplicate and archive.

- `GET /v1/forms` lists forms by name; `list` picks `all` (not archived, the default),
  `published`, `drafts`, `archived` or `all_with_archived`; `include_info=1` adds the
  details and counters, `include_config=1` the survey itself;
- `POST /v1/forms/publish` publishes (`published=1`, the default) or unpublishes;
- `POST /v1/forms/duplicate` copies a form into a new draft named `name`;
- `DELETE /v1/forms` archives a form; Refiner never deletes one.

Forms come from seeding (`PUT /__mock/state`); the API cannot create them.

Limitations: the reply messages, and refusing to publish an archived form, are the
mock's own; a draft is a form that is neither published nor archived.
"""

import copy
import logging

from mock_refiner.errors import ApiError
from mock_refiner.models import Environment, Form
from mock_refiner.pagination import paginate
from mock_refiner.params import text_param
from mock_refiner.render import render_form
from mock_refiner.routes import Call, Reply, operation
from mock_refiner.traits import as_text

logger = logging.getLogger(__name__)

LISTS = {
    "all": lambda form: form.archived_at is None,
    "published": lambda form: (
        form.archived_at is None and form.published_at is not None
    ),
    "drafts": lambda form: form.archived_at is None and form.published_at is None,
    "archived": lambda form: form.archived_at is not None,
    "all_with_archived": lambda form: True,
}
TRUE_TEXTS = ("1", "true")
FALSE_TEXTS = ("0", "false")
FORM_REQUIRED = "The form_uuid parameter is required."
FORM_NOT_FOUND = "Form not found."


def flag(params: dict, name: str, default: bool) -> bool:
    """A yes/no parameter: `1`/`true` or `0`/`false` (text or JSON); 400 otherwise."""
    value = params.get(name)
    if value is None or value == "":
        return default

    text = as_text(value).lower()
    if text in TRUE_TEXTS:
        return True
    if text in FALSE_TEXTS:
        return False
    raise ApiError.bad_request(f"The {name} parameter must be 1 or 0.")


def form_for(env: Environment, params: dict) -> Form:
    """The form named by `form_uuid`; 400 or 404 otherwise."""
    form_uuid = text_param(params, "form_uuid")
    if not form_uuid:
        raise ApiError.bad_request(FORM_REQUIRED)

    form = env.forms.get(form_uuid)
    if form is None:
        raise ApiError(404, {"error": FORM_NOT_FOUND})
    return form


@operation("GET", "/v1/forms", name="get-forms")
def get_forms(call: Call) -> Reply:
    chosen = text_param(call.params, "list") or "all"
    if chosen not in LISTS:
        raise ApiError.bad_request(
            f"The list parameter must be one of {', '.join(LISTS)}."
        )
    info = flag(call.params, "include_info", False)
    config = flag(call.params, "include_config", False)

    with call.store.reading(call.api_key) as env:
        forms = [form for form in env.forms.values() if LISTS[chosen](form)]
        forms.sort(key=lambda form: (form.name.casefold(), form.uuid))
        page, pagination = paginate(
            forms, call.params, call.settings.default_page_length
        )
        items = [render_form(env, form, info, config) for form in page]

    return Reply(200, {"items": items, "pagination": pagination})


@operation("POST", "/v1/forms/publish", name="publish-form")
def publish_form(call: Call) -> Reply:
    publish = flag(call.params, "published", True)

    with call.store.writing(call.api_key) as env:
        form = form_for(env, call.params)
        if publish and form.archived_at is not None:
            raise ApiError.bad_request("An archived form cannot be published.")

        if publish and form.published_at is None:
            form.published_at = call.now
        elif not publish:
            form.published_at = None
        form.updated_at = call.now

    return Reply(
        200, {"message": "Form published." if publish else "Form unpublished."}
    )


@operation("POST", "/v1/forms/duplicate", name="duplicate-form")
def duplicate_form(call: Call) -> Reply:
    name = text_param(call.params, "name").strip()

    with call.store.writing(call.api_key) as env:
        source = form_for(env, call.params)
        if not name:
            raise ApiError.bad_request("The name parameter is required.")

        copied = Form(
            uuid=call.new_id(env),
            name=name,
            created_at=call.now,
            updated_at=call.now,
            channels=list(source.channels),
            page_url=source.page_url,
            folder=source.folder,
            config=copy.deepcopy(source.config),
        )
        env.forms[copied.uuid] = copied

    return Reply(200, {"source_form_uuid": source.uuid, "new_form_uuid": copied.uuid})


@operation("DELETE", "/v1/forms", name="archive-form")
def archive_form(call: Call) -> Reply:
    with call.store.writing(call.api_key) as env:
        form = form_for(env, call.params)
        if form.archived_at is None:
            form.archived_at = call.now
            form.updated_at = call.now

    return Reply(200, {"message": "Form archived."})
