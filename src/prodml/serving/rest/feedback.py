"""The feedback route: ground truth or rewards for served requests, by request id.

``POST /v1/feedback`` (any endpoint) or ``POST /v1/endpoints/{name}/feedback`` (ids served by
another endpoint count as unknown) with ``{"request_id": ..., "label" | "reward" | "value": ...}``
or a list of them. 200 ``{"recorded": n, "unchanged": m}``; 404 naming unknown ids (nothing is
written); the same feedback again is a harmless repeat (``unchanged``); different feedback for
an id that has some is 409.
"""

from __future__ import annotations

from typing import Any

import orjson

from prodml.errors import InvalidInputError
from prodml.serving.dataplane import DataPlane
from prodml.serving.endpoints import parse_feedback
from prodml.serving.rest.app import Route, route
from prodml.serving.rest.http import Request, Response, json_response


class FeedbackRoutes:
    def __init__(self, dataplane: DataPlane) -> None:
        self.dp = dataplane

    async def feedback(self, request: Request) -> Response:
        try:
            doc: Any = orjson.loads(request.body)
        except orjson.JSONDecodeError as exc:
            raise InvalidInputError(f"request body is not valid JSON: {exc}") from None
        items = parse_feedback(doc)
        endpoints = self.dp.endpoints
        if endpoints is None:
            raise InvalidInputError(
                "this server serves no endpoints (set endpoints: true), so it records no "
                "served requests to attach feedback to"
            )
        result = await endpoints.feedback(items, request.params.get("name"))
        return json_response({"recorded": result.recorded, "unchanged": result.unchanged})

    def routes(self) -> list[Route]:
        return [
            route("POST", "/v1/feedback", self.feedback),
            route("POST", "/v1/endpoints/{name}/feedback", self.feedback),
        ]
