"""One page of a list, as every list query of the engine returns it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int
    per_page: int
    capped: bool = False  # the count stopped at `total`: more rows match (engine.inbox.COUNT_CAP)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))
