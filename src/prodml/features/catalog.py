"""The set of feature definitions a store knows, and how a list of features resolves against it.

A request names features as ``"view:feature"`` strings or a ``FeatureService``. Resolving groups
them by view (one lookup per view), adds the inputs that on-demand views need, and fixes the
output column names, so offline retrieval and online lookup read the same plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prodml.errors import ConfigError, NotFoundError
from prodml.features.definitions import Entity, FeatureService, FeatureView, parse_reference
from prodml.features.on_demand import OnDemandFeatureView, RequestSource

Definition = Entity | FeatureView | OnDemandFeatureView | FeatureService


@dataclass(frozen=True)
class ViewSelection:
    """Features to read from one view; ``columns`` are the internal ``view__feature`` names."""

    view: FeatureView
    features: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(f"{self.view.name}__{name}" for name in self.features)


@dataclass(frozen=True)
class ResolvedFeatures:
    """A request resolved against a catalog: what to read, what to compute, what to return.

    ``outputs`` maps each internal column (``view__feature``) to the column the user sees.
    """

    views: tuple[ViewSelection, ...]
    on_demand: tuple[OnDemandFeatureView, ...]
    outputs: Mapping[str, str]
    request_fields: tuple[str, ...] = field(default=())

    @property
    def join_keys(self) -> tuple[str, ...]:
        keys: dict[str, None] = {}
        for selection in self.views:
            keys.update(dict.fromkeys(selection.view.join_keys))
        return tuple(keys)


class Catalog:
    """Definitions by kind and name; later additions replace earlier ones of the same name."""

    def __init__(self, definitions: Iterable[Definition] = ()) -> None:
        self.entities: dict[str, Entity] = {}
        self.feature_views: dict[str, FeatureView] = {}
        self.on_demand_views: dict[str, OnDemandFeatureView] = {}
        self.feature_services: dict[str, FeatureService] = {}
        for definition in definitions:
            self.add(definition)

    def add(self, definition: Definition) -> None:
        if isinstance(definition, Entity):
            self.entities[definition.name] = definition
        elif isinstance(definition, FeatureView):
            for entity in definition.entities:
                self.entities.setdefault(entity.name, entity)
            self.feature_views[definition.name] = definition
        elif isinstance(definition, OnDemandFeatureView):
            for view in definition.feature_views:
                self.add(view)
            self.on_demand_views[definition.name] = definition
        elif isinstance(definition, FeatureService):
            self.feature_services[definition.name] = definition
        else:
            raise ConfigError(
                f"{definition!r} is not a feature definition; expected Entity, FeatureView, "
                "OnDemandFeatureView or FeatureService"
            )

    def __iter__(self) -> Any:
        yield from self.entities.values()
        yield from self.feature_views.values()
        yield from self.on_demand_views.values()
        yield from self.feature_services.values()

    def validate(self) -> None:
        """Cross-definition checks: names unique across views, services resolvable."""
        both = set(self.feature_views) & set(self.on_demand_views)
        if both:
            raise ConfigError(
                f"feature view {sorted(both)[0]!r}: field 'name' is used by a feature view and an "
                "on-demand feature view; rename one"
            )
        for service in self.feature_services.values():
            self.resolve(service)

    def feature_view(self, name: str) -> FeatureView:
        try:
            return self.feature_views[name]
        except KeyError:
            raise NotFoundError(
                f"no feature view named {name!r}; known: {', '.join(sorted(self.feature_views))}"
                " (apply the definitions first)"
            ) from None

    def feature_service(self, name: str) -> FeatureService:
        try:
            return self.feature_services[name]
        except KeyError:
            raise NotFoundError(
                f"no feature service named {name!r}; known: "
                f"{', '.join(sorted(self.feature_services)) or 'none'}"
            ) from None

    def resolve(
        self, features: Sequence[str] | FeatureService, *, full_feature_names: bool = False
    ) -> ResolvedFeatures:
        """Group ``features`` by view and add the hidden inputs of on-demand views.

        Raises:
            NotFoundError: a view or feature does not exist.
            ConfigError: two requested features would get the same output column.
        """
        refs = features.features if isinstance(features, FeatureService) else tuple(features)
        if isinstance(features, str):
            raise ConfigError(
                f"features must be a list of 'view:feature' strings, not {features!r}"
            )
        if not refs:
            raise ConfigError("no features requested; pass 'view:feature' strings or a service")
        wanted: dict[str, dict[str, None]] = {}
        on_demand: dict[str, OnDemandFeatureView] = {}
        outputs: dict[str, str] = {}
        for ref in refs:
            view_name, feature = parse_reference(ref)
            if view_name in self.on_demand_views:
                odfv = self.on_demand_views[view_name]
                self._check_feature(view_name, feature, odfv.feature_names)
                on_demand[view_name] = odfv
            else:
                view = self.feature_view(view_name)
                self._check_feature(view_name, feature, view.feature_names)
                wanted.setdefault(view_name, {})[feature] = None
            internal = f"{view_name}__{feature}"
            shown = internal if full_feature_names else feature
            if shown in outputs.values() and outputs.get(internal) != shown:
                raise ConfigError(
                    f"two requested features are both called {shown!r}; pass "
                    "full_feature_names=True to name them 'view__feature'"
                )
            outputs[internal] = shown
        request_fields: dict[str, None] = {}
        for odfv in on_demand.values():
            for source in odfv.sources:
                if isinstance(source, RequestSource):
                    request_fields.update(dict.fromkeys(source.feature_names))
                else:
                    self.feature_view(source.name)
                    wanted.setdefault(source.name, {}).update(dict.fromkeys(source.feature_names))
        selections = tuple(
            ViewSelection(self.feature_views[name], tuple(names)) for name, names in wanted.items()
        )
        return ResolvedFeatures(
            views=selections,
            on_demand=tuple(on_demand.values()),
            outputs=outputs,
            request_fields=tuple(request_fields),
        )

    @staticmethod
    def _check_feature(view: str, feature: str, known: Sequence[str]) -> None:
        if feature not in known:
            raise NotFoundError(
                f"feature view {view!r} has no feature {feature!r}; it has {', '.join(known)}"
            )
