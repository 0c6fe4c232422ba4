"""The lifecycle's fixtures: `life`, the world with a batch, its items and two receivers."""

from tests.registry_api.lifecycle.event_world import life  # noqa: F401
