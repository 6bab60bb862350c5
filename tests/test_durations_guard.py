"""The test-time guard names the modules that grew, and only those."""

from __future__ import annotations

import pytest

from tests.durations_guard import grown_modules, module_order


@pytest.mark.parametrize(
    ("now", "baseline", "grown"),
    [
        ({"a.py": 10.0}, {"a.py": 10.0}, []),
        ({"a.py": 16.0}, {"a.py": 10.0}, ["a.py"]),  # 1.6 times and 6 s more
        ({"a.py": 14.0}, {"a.py": 10.0}, []),  # 4 s more: within the jitter of a large module
        ({"a.py": 3.0}, {"a.py": 1.0}, []),  # three times, but 2 s: within a small module's jitter
        ({"a.py": 80.0}, {"a.py": 60.0}, []),  # 20 s more, but only a third more
        ({"new.py": 6.0}, {}, ["new.py"]),  # a new module that costs seconds
        ({"new.py": 1.0}, {}, []),
        ({"a.py": 30.0, "b.py": 12.0}, {"a.py": 10.0, "b.py": 6.0}, ["a.py", "b.py"]),  # largest growth first
    ],
)
def test_grown_modules(now: dict[str, float], baseline: dict[str, float], grown: list[str]) -> None:
    assert [module for module, _, _ in grown_modules(now, baseline)] == grown


@pytest.mark.parametrize(
    ("modules", "baseline", "order"),
    [
        (["a", "b", "c"], {"a": 1.0, "b": 30.0, "c": 5.0}, ["b", "c", "a"]),
        (["a", "new", "b"], {"a": 1.0, "b": 30.0}, ["new", "b", "a"]),
        (["a", "a", "b"], {}, ["a", "b"]),
    ],
)
def test_modules_run_longest_first_and_unknown_ones_before_all(
    modules: list[str], baseline: dict[str, float], order: list[str]
) -> None:
    assert module_order(modules, baseline) == order
