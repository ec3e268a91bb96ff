"""Link previews and crawlers look at a scan page without scanning it (stamps.scanning):
the answer is the same for short and very long agents, and only short ones are remembered."""

from __future__ import annotations

import pytest

from stamps.scanning import _previewer, is_preview

pytestmark = pytest.mark.unit

PHONE = "Mozilla/5.0 (Linux; Android 13; SM-A145F) AppleWebKit/537.36 Chrome/120 Mobile"
PREVIEW = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"


@pytest.mark.parametrize("padding", [0, 8_000])
def test_previews_and_phones_read_the_same_at_any_length(padding: int) -> None:
    assert is_preview("GET", PREVIEW + " " * padding)
    assert not is_preview("GET", PHONE + " " * padding)
    assert is_preview("HEAD", PHONE + " " * padding)
    assert is_preview("GET", "")


def test_only_short_agents_are_remembered() -> None:
    _previewer.cache_clear()
    is_preview("GET", PHONE)
    for n in range(50):  # a client inventing long agents
        is_preview("GET", PHONE + "x" * (8_000 + n))
    assert _previewer.cache_info().currsize == 1
