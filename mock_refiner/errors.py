"""The one exception every refusal of the mock is raised as."""

import logging

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """A refusal with the status, JSON body and headers the mock answers with."""

    def __init__(
        self, status: int, body: dict, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(body.get("error") or body.get("message") or str(body))
        self.status = status
        self.body = body
        self.headers = dict(headers or {})

    @classmethod
    def bad_request(cls, message: str) -> "ApiError":
        """A 400 with `{"error": message}`."""
        return cls(400, {"error": message})
