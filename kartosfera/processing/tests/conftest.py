from __future__ import annotations

import pytest

from kartosfera.cards.models import Brand

BRANDS = [Brand.VISA, Brand.MASTERCARD]


@pytest.fixture(params=BRANDS)
def brand(request) -> str:
    return request.param
