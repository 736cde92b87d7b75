"""An online estimate of what a batch costs: seconds ≈ a·rows + b.

Exponentially weighted least squares over recent batches, so the fit follows the machine when
load or contention changes. The adaptive batcher uses it to size batches that meet a latency
target and to shed requests that cannot.
"""

from __future__ import annotations


class BatchCostModel:
    """Learns ``seconds = a * rows + b`` from observed batches.

    Example:
        >>> cost = BatchCostModel()
        >>> for rows in (1, 10, 100, 1, 10, 100):
        ...     cost.observe(rows, 0.001 + 0.0001 * rows)
        >>> round(cost.predict(50), 6)
        0.006
    """

    def __init__(self, decay: float = 0.05, min_samples: int = 5) -> None:
        self.decay = decay
        self.min_samples = min_samples
        self.samples = 0
        self._w = self._x = self._y = self._xx = self._xy = 0.0
        self.a = 0.0
        self.b = 0.0

    @property
    def trained(self) -> bool:
        """True once enough batches were seen to trust the estimate (for shedding)."""
        return self.samples >= self.min_samples

    def observe(self, rows: int, seconds: float) -> None:
        """Fold one executed batch into the fit."""
        keep = 1.0 - self.decay if self.samples else 0.0
        x, y = float(rows), seconds
        self._w = self._w * keep + 1.0
        self._x = self._x * keep + x
        self._y = self._y * keep + y
        self._xx = self._xx * keep + x * x
        self._xy = self._xy * keep + x * y
        self.samples += 1
        det = self._w * self._xx - self._x * self._x
        mean_x, mean_y = self._x / self._w, self._y / self._w
        # With one batch size only the slope is unidentifiable; treat the cost as per-row then.
        if det <= 1e-9 * max(1.0, self._w * self._xx):
            self.a, self.b = (mean_y / mean_x if mean_x else 0.0), 0.0
            return
        a = (self._w * self._xy - self._x * self._y) / det
        b = mean_y - a * mean_x
        # Negative terms are noise on a 2-core box; a batch never gets cheaper with rows.
        if a < 0:
            a, b = 0.0, mean_y
        elif b < 0:
            a, b = mean_y / mean_x if mean_x else 0.0, 0.0
        self.a, self.b = a, b

    def predict(self, rows: int) -> float:
        """Estimated seconds to run a batch of ``rows``."""
        return self.a * rows + self.b

    def rows_within(self, seconds: float) -> int:
        """The most rows a batch can hold and still finish within ``seconds`` (at least 1)."""
        if self.a <= 0:
            return 1 << 30
        return max(1, int((seconds - self.b) / self.a))
