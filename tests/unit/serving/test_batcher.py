"""The batcher's guarantees, held by property tests over random request mixes."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prodml.errors import DeadlineExceededError, InvalidInputError, OverloadedError
from prodml.serving.batching import Batcher, BatchSettings
from prodml.serving.status import SheddingError
from prodml.testing.fakes import FakeModel

Array = np.ndarray


def _echo(columns: Mapping[str, Array]) -> dict[str, Array]:
    # Output row i is input row i, tagged: a mix-up of rows between requests is visible.
    return {"y": np.asarray(columns["x"], dtype=np.float64) * 10.0}


requests_st = st.lists(st.tuples(st.integers(1, 12), st.booleans()), min_size=1, max_size=30)


@settings(max_examples=40, deadline=None)
@given(
    requests=requests_st,
    max_batch=st.integers(1, 16),
    mode=st.sampled_from(["fixed", "adaptive"]),
    executor=st.sampled_from(["inline", "thread"]),
)
def test_batches_respect_the_max_and_every_request_gets_its_own_rows(
    requests: list[tuple[int, bool]], max_batch: int, mode: str, executor: str
) -> None:
    model = FakeModel(fn=_echo, reject_negative=True)
    settings_ = BatchSettings(
        max_batch_size=max_batch,
        mode=mode,  # type: ignore[arg-type]
        executor=executor,  # type: ignore[arg-type]
        max_concurrent_batches=2 if executor == "thread" else 1,
        max_batch_delay_s=0.001 if mode == "fixed" else 0.0,
    )

    async def main() -> list[dict[str, Array] | BaseException]:
        batcher = Batcher(model, settings_)
        calls = []
        for i, (rows, bad) in enumerate(requests):
            x = np.arange(rows, dtype=np.float64) + 1000.0 * i
            if bad:
                x[0] = -1.0  # invalid: the runtime's validation rejects it
            calls.append(batcher.predict({"x": x}))
        results = await asyncio.gather(*calls, return_exceptions=True)
        await batcher.close()
        return results

    results = asyncio.run(main())
    # No batch larger than the max (requests larger than the max are split).
    assert model.batches and max(model.batches) <= max_batch
    assert len(results) == len(requests)
    for i, ((rows, bad), result) in enumerate(zip(requests, results, strict=True)):
        if bad:
            # A bad request fails alone, with its own validation error.
            assert isinstance(result, InvalidInputError)
            continue
        assert isinstance(result, dict), result
        expected = (np.arange(rows, dtype=np.float64) + 1000.0 * i) * 10.0
        assert result["y"].tolist() == expected.tolist()


def test_each_request_is_answered_exactly_once() -> None:
    async def main() -> None:
        batcher = Batcher(FakeModel(), BatchSettings(max_batch_size=4))
        futures = [batcher.predict({"x": np.array([float(i)])}) for i in range(50)]
        done = await asyncio.gather(*futures)
        await batcher.close()
        # A future set twice raises InvalidStateError inside the batcher; none did.
        assert [d["y"][0] for d in done] == [2.0 * i for i in range(50)]

    asyncio.run(main())


def test_concurrent_requests_share_batches() -> None:
    model = FakeModel()

    async def main() -> None:
        batcher = Batcher(model, BatchSettings(max_batch_size=64))
        await asyncio.gather(*(batcher.predict({"x": np.array([1.0])}) for _ in range(40)))
        await batcher.close()

    asyncio.run(main())
    assert len(model.batches) < 40 and sum(model.batches) == 40


def test_queue_bound_refuses_with_retry_after() -> None:
    async def main() -> None:
        batcher = Batcher(FakeModel(), BatchSettings(max_queue_rows=3))
        first = asyncio.ensure_future(batcher.predict({"x": np.ones(3)}))
        await asyncio.sleep(0)  # the first request is queued, not yet taken
        with pytest.raises(OverloadedError) as info:
            await batcher.predict({"x": np.ones(1)})
        assert info.value.retry_after_s > 0
        await first
        await batcher.close()

    asyncio.run(main())


def test_requests_past_their_deadline_get_504() -> None:
    async def main() -> None:
        batcher = Batcher(
            FakeModel(delay_s=0.05), BatchSettings(max_batch_size=1, executor="thread")
        )
        loop_time = batcher._clock
        slow = batcher.predict({"x": np.ones(1)})
        late = batcher.predict({"x": np.ones(1)}, deadline=loop_time() + 0.01)
        with pytest.raises(DeadlineExceededError):
            await late
        await slow
        await batcher.close()

    asyncio.run(main())


def test_adaptive_mode_learns_cost_and_sheds_what_cannot_make_it() -> None:
    async def main() -> None:
        batcher = Batcher(
            # Batches cost ~20 ms against a 200 ms target: wide enough margins that a busy
            # machine, which inflates every measured cost, still serves some and sheds some.
            FakeModel(delay_s=0.02),
            BatchSettings(
                max_batch_size=4, mode="adaptive", latency_target_s=0.2, executor="thread"
            ),
        )
        for _ in range(6):  # train the cost model: ~20 ms per batch
            await batcher.predict({"x": np.ones(1)})
        assert batcher.cost.trained and batcher.cost.predict(4) > 0.01
        results = await asyncio.gather(
            *(batcher.predict({"x": np.ones(4)}) for _ in range(40)), return_exceptions=True
        )
        await batcher.close()
        shed = [r for r in results if isinstance(r, SheddingError)]
        served = [r for r in results if isinstance(r, dict)]
        assert shed and served  # some served within target, the backlog beyond it shed
        assert all(r.retry_after_s > 0 for r in shed)

    asyncio.run(main())


def test_model_crash_fails_only_the_requests_that_crash_it() -> None:
    model = FakeModel(fail_when=lambda cols: bool((cols["x"] == 13.0).any()))

    async def main() -> list[dict[str, Array] | BaseException]:
        batcher = Batcher(model, BatchSettings(max_batch_size=8))
        xs = [np.array([1.0]), np.array([13.0]), np.array([2.0])]
        out = await asyncio.gather(*(batcher.predict({"x": x}) for x in xs), return_exceptions=True)
        await batcher.close()
        return out

    a, b, c = asyncio.run(main())
    assert isinstance(a, dict) and isinstance(c, dict)
    assert type(b).__name__ == "ModelExecutionError"


@settings(max_examples=40, deadline=None)
@given(
    requests=st.lists(
        st.tuples(st.integers(1, 12), st.booleans(), st.booleans()), min_size=1, max_size=30
    ),
    max_batch=st.integers(1, 16),
    executor=st.sampled_from(["inline", "thread"]),
)
def test_answered_gets_each_whole_batch_of_tagged_requests_once_with_its_merged_rows(
    requests: list[tuple[int, bool, bool]], max_batch: int, executor: str
) -> None:
    model = FakeModel(fn=_echo, reject_negative=True)
    told: list[tuple[list[int], dict[str, Array], dict[str, Array], list[int]]] = []

    async def main() -> list[dict[str, Array] | BaseException]:
        batcher = Batcher(
            model,
            BatchSettings(
                max_batch_size=max_batch,
                executor=executor,  # type: ignore[arg-type]
                max_concurrent_batches=2 if executor == "thread" else 1,
            ),
        )
        batcher.answered = lambda tags, inputs, outputs, rows: told.append(
            (tags, dict(inputs), outputs, rows)
        )
        calls = []
        for i, (rows, bad, tagged) in enumerate(requests):
            x = np.arange(rows, dtype=np.float64) + 1000.0 * i
            if bad:
                x[0] = -1.0
            calls.append(batcher.predict({"x": x}, tag=i if tagged else None))
        results = await asyncio.gather(*calls, return_exceptions=True)
        await batcher.close()
        return results

    results = asyncio.run(main())
    reported = [i for tags, _, _, _ in told for i in tags]
    assert len(reported) == len(set(reported))  # each request at most once
    for tags, inputs, outputs, rows in told:
        # Only tagged requests that got their outputs, with the rows the model saw.
        assert all(isinstance(results[i], dict) and requests[i][2] for i in tags)
        assert rows == [requests[i][0] for i in tags]
        assert inputs["x"].tolist() == np.concatenate([
            np.arange(requests[i][0], dtype=np.float64) + 1000.0 * i for i in tags
        ]).tolist()  # fmt: skip
        assert outputs["y"].tolist() == (inputs["x"] * 10.0).tolist()
    if all(tagged and not bad and rows <= max_batch for rows, bad, tagged in requests):
        assert sorted(reported) == list(range(len(requests)))  # every batch is whole
    # A request split over batches is never reported whole.
    assert not [i for i in reported if requests[i][0] > max_batch]


def test_a_batch_with_a_request_past_its_deadline_is_not_reported_whole() -> None:
    told: list[list[int]] = []
    model = FakeModel(delay_s=0.05)

    async def main() -> list[dict[str, Array] | BaseException]:
        batcher = Batcher(model, BatchSettings(max_batch_size=8, executor="thread"))
        batcher.answered = lambda tags, *_: told.append(tags)
        await batcher.predict({"x": np.ones(1)}, tag=0)  # a whole batch
        # 1 and 2 share a batch; 1's deadline passes while the model runs it.
        late = batcher.predict({"x": np.ones(1)}, deadline=batcher._clock() + 0.02, tag=1)
        on_time = batcher.predict({"x": np.ones(1)}, tag=2)
        results = await asyncio.gather(late, on_time, return_exceptions=True)
        await batcher.close()
        return list(results)

    late, on_time = asyncio.run(main())
    assert model.batches == [1, 2]
    assert isinstance(late, DeadlineExceededError) and isinstance(on_time, dict)
    assert told == [[0]]  # request 2 is left to report itself


def test_a_failing_listener_leaves_the_answers_alone(caplog: pytest.LogCaptureFixture) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("listener bug")

    async def main() -> list[float]:
        batcher = Batcher(FakeModel(), BatchSettings(max_batch_size=8))
        batcher.answered = broken
        calls = [batcher.predict({"x": np.array([1.0])}, tag=i) for i in range(5)]
        done = await asyncio.gather(*calls)
        await batcher.close()
        return [float(d["y"][0]) for d in done]

    assert asyncio.run(main()) == [2.0] * 5
    assert "listener of answered batches failed" in caplog.text
