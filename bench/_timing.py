"""The stopwatch of the benchmarks that time a call and keep its result."""

import time


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    """Seconds ``fn`` took, and what it returned."""
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - started, result
