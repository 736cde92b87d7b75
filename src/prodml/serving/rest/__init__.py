"""The REST transport: V2, V1, SageMaker, records, docs and metrics over one ASGI app."""

from __future__ import annotations

from prodml.serving.dataplane import DataPlane
from prodml.serving.rest.app import Hook, RestApp
from prodml.serving.rest.compat import CompatRoutes
from prodml.serving.rest.feedback import FeedbackRoutes
from prodml.serving.rest.openapi import DocsRoutes
from prodml.serving.rest.v2 import V2Routes


def build_app(
    dataplane: DataPlane,
    *,
    on_startup: list[Hook] | None = None,
    on_shutdown: list[Hook] | None = None,
) -> RestApp:
    """The ASGI app for one worker."""
    v2 = V2Routes(dataplane)
    routes = [*v2.routes(), *CompatRoutes(dataplane).routes(), *DocsRoutes().routes()]
    if dataplane.config.endpoints:
        routes += FeedbackRoutes(dataplane).routes()
    if not dataplane.config.metrics:
        routes = [r for r in routes if r.pattern.pattern != "^/metrics$"]
    return RestApp(dataplane, routes, v2.infer, on_startup=on_startup, on_shutdown=on_shutdown)


__all__ = ["RestApp", "build_app"]
