"""``recommendations`` in every template's context, computed only when read.

A template that shows no recommendation should cost nothing, and one that
loops over ``recommendations.bought_together`` should run that recommender
alone: so each customer's value is a mapping that asks its batch the first
time a template reads a recommender's key, and the batch runs that
recommender once for all its customers (one or two queries per batch,
however many customers read it).
"""

from collections.abc import Iterator, Mapping
from functools import cached_property

from engage.profiles.models import Profile
from engage.workspaces.models import Workspace

from .recommending import enabled_recommenders, recommend


class _Batch:
    """The customers of one workspace rendered together, and what was read for them."""

    def __init__(self, profiles: list[Profile]):
        self.profiles = profiles
        self._recommenders = None
        self._found: dict[str, dict[int, list[dict]]] = {}

    @cached_property
    def workspace(self) -> Workspace:
        return self.profiles[0].workspace

    def recommender_ids(self) -> list[str]:
        if self._recommenders is None:
            self._recommenders = enabled_recommenders(self.workspace)
        return list(self._recommenders)

    def products(self, recommender_id: str, profile_id: int) -> list[dict]:
        if recommender_id not in self.recommender_ids():
            raise KeyError(recommender_id)
        if recommender_id not in self._found:
            recommender = self._recommenders[recommender_id]
            self._found[recommender_id] = recommend(self.workspace, self.profiles, recommender)
        return self._found[recommender_id].get(profile_id, [])


class Recommendations(Mapping):
    """One customer's ``recommendations``: recommender id → list of products."""

    def __init__(self, batch: _Batch, profile_id: int):
        self._batch = batch
        self._profile_id = profile_id

    def __getitem__(self, recommender_id: str) -> list[dict]:
        if not isinstance(recommender_id, str):
            raise KeyError(recommender_id)
        return self._batch.products(recommender_id, self._profile_id)

    def __iter__(self) -> Iterator[str]:
        return iter(self._batch.recommender_ids())

    def __len__(self) -> int:
        return len(self._batch.recommender_ids())


def recommendations_context(profiles: list[Profile]) -> dict[int, Recommendations]:
    """The provider registered for the ``recommendations`` key: no query until read."""
    by_workspace: dict[int, list[Profile]] = {}
    for profile in profiles:
        by_workspace.setdefault(profile.workspace_id, []).append(profile)
    values = {}
    for customers in by_workspace.values():
        batch = _Batch(customers)
        for profile in customers:
            values[profile.pk] = Recommendations(batch, profile.pk)
    return values
