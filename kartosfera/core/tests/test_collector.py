"""The cyclic collector paused around a render, and resumed by the last of several at once."""

from __future__ import annotations

import gc
import threading

import pytest

from kartosfera.core.collector import cyclic_gc_paused


@pytest.fixture(autouse=True)
def _collector_on():
    gc.enable()
    yield
    gc.enable()


def test_the_collector_is_paused_inside_and_resumed_after_even_on_an_error():
    with cyclic_gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), cyclic_gc_paused():
        raise RuntimeError("the render failed")
    assert gc.isenabled()


def test_a_nested_or_concurrent_pause_resumes_only_when_the_last_one_ends():
    inside = threading.Event()
    release = threading.Event()

    def render() -> None:
        with cyclic_gc_paused():
            inside.set()
            release.wait(5)

    other = threading.Thread(target=render)
    with cyclic_gc_paused():
        other.start()
        assert inside.wait(5)
    # This thread's pause ended, the other thread's render goes on: still paused.
    assert not gc.isenabled()
    release.set()
    other.join(5)
    assert gc.isenabled()


def test_a_collector_switched_off_before_stays_off():
    gc.disable()
    with cyclic_gc_paused():
        pass
    assert not gc.isenabled()
