"""The publisher holds back only a repeat of what it has just published: a
request for other work goes to the broker at once, and repeats arriving
within the debounce become one message."""

import threading
import time

from engage.server import publishing


class BrokerSide:
    """Stands in for a task at the broker: records when each publish arrives."""

    def __init__(self, name: str):
        self.name = name
        self.arrived: list[float] = []
        self.event = threading.Event()

    def apply_async(self, args) -> None:
        self.arrived.append(time.monotonic())
        self.event.set()

    def wait(self) -> float:
        assert self.event.wait(5), f"{self.name} never published"
        self.event.clear()
        return self.arrived[-1]


def test_other_work_is_published_at_once_and_repeats_are_coalesced():
    # A publisher of its own, which no other test's publishes can hold up.
    publisher = publishing._Publisher()
    first, other = BrokerSide("tests.first"), BrokerSide("tests.other")

    publisher.submit(first, (1,))
    published = first.wait()
    asked = time.monotonic()
    publisher.submit(other, (1,))
    assert other.wait() - asked < publishing.DEBOUNCE_SECONDS / 2

    publisher.submit(first, (1,))
    publisher.submit(first, (1,))
    assert first.wait() - published >= publishing.DEBOUNCE_SECONDS
    time.sleep(publishing.DEBOUNCE_SECONDS * 2)
    assert len(first.arrived) == 2
