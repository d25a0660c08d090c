"""Small building blocks for the package's frozen data classes."""

from __future__ import annotations

from collections.abc import Sized
from typing import Any, overload


class CountOf:
    """A read-only attribute: the length of another attribute of the same object.

    ``n_slots = CountOf("slot_coef")`` in a class body makes ``obj.n_slots`` mean
    ``len(obj.slot_coef)``; as a class attribute without annotation it is no dataclass field.
    """

    def __init__(self, attribute: str) -> None:
        self.attribute = attribute

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> CountOf: ...
    @overload
    def __get__(self, instance: object, owner: type | None = None) -> int: ...
    def __get__(self, instance: Any, owner: type | None = None) -> int | CountOf:
        if instance is None:  # on the class: the descriptor itself
            return self
        sized: Sized = getattr(instance, self.attribute)
        return len(sized)
