"""The table of Refiner operations: which method and path reach which function.

Each resource module registers its operations with :func:`operation`; the service
looks calls up with :func:`find`. An operation is a function of a :class:`Call` that
returns a :class:`Reply` or raises an ``ApiError``.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from mock_refiner.errors import ApiError
from mock_refiner.models import Environment
from mock_refiner.settings import Settings
from mock_refiner.store import Store


@dataclass
class Reply:
    """What the mock answers: a status, a JSON body and extra headers; `call_id` is
    the id of the call's journal entry once it is journaled."""

    status: int
    body: dict
    headers: dict[str, str] = field(default_factory=dict)
    call_id: int | None = field(default=None, compare=False)


@dataclass
class Call:
    """One accepted call, as an operation sees it."""

    store: Store
    settings: Settings
    api_key: str
    params: dict
    path: str
    now: datetime
    notes: list[str] = field(default_factory=list)

    def new_id(self, env: Environment) -> str:
        """A new uuid no entity of `env` has yet."""
        return env.new_uuid(self.settings.ids)


Operation = Callable[[Call], Reply]


@dataclass(frozen=True)
class Route:
    """An operation's name and function."""

    name: str
    function: Operation


ROUTES: dict[str, dict[str, Route]] = {}


def operation(method: str, *paths: str, name: str) -> Callable[[Operation], Operation]:
    """Registers a function as the operation at ``method`` on each of ``paths``."""

    def register(function: Operation) -> Operation:
        for path in paths:
            ROUTES.setdefault(path, {})[method] = Route(name, function)
        return function

    return register


def find(method: str, path: str) -> Route:
    """The route of a call; 404 for an unknown path, 405 for another method."""
    methods = ROUTES.get(path)
    if methods is None:
        raise ApiError(404, {"error": "Not found"})

    route = methods.get(method) or (methods.get("GET") if method == "HEAD" else None)
    if route is None:
        allowed = ", ".join(sorted(methods))
        raise ApiError(405, {"error": "Method not allowed"}, {"Allow": allowed})
    return route


def operation_name(path: str) -> str | None:
    """The name of the operations at ``path`` (any method), for the journal."""
    methods = ROUTES.get(path)
    if not methods:
        return None
    return next(iter(methods.values())).name
