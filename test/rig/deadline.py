"""When a device wait or a parked call gives up: a monotonic instant (infinity: never)."""
import math
import time


class Deadline:
    def __init__(self, at: float):
        #: A time.perf_counter() value.
        self.at = at

    @staticmethod
    def after(ms: float) -> 'Deadline':
        return Deadline(time.perf_counter() + ms / 1000.0)

    def remaining(self) -> float:
        """Seconds left (negative once passed)."""
        return self.at - time.perf_counter()

    def expired(self) -> bool:
        return self.remaining() <= 0


NONE = Deadline(math.inf)
