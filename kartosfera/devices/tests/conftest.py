from __future__ import annotations

from kartosfera.profile.tests.conftest import anna, bob, clean_slate

__all__ = ["anna", "bob", "clean_slate"]
