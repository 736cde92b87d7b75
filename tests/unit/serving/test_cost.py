from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from prodml.serving.batching import BatchCostModel


@given(a=st.floats(1e-6, 1e-3), b=st.floats(0, 1e-2))
def test_fit_recovers_a_linear_cost(a: float, b: float) -> None:
    cost = BatchCostModel()
    for rows in [1, 8, 64, 2, 32, 128] * 3:
        cost.observe(rows, a * rows + b)
    assert abs(cost.predict(100) - (a * 100 + b)) <= 1e-6 + 1e-3 * (a * 100 + b)


def test_one_batch_size_only_gives_a_per_row_cost() -> None:
    cost = BatchCostModel(min_samples=2)
    for _ in range(3):
        cost.observe(10, 0.01)
    assert cost.trained and cost.b == 0 and abs(cost.a - 0.001) < 1e-12
    assert cost.rows_within(0.05) == 50
