"""Batching: merge concurrent requests for one model into batches (see ``batcher``)."""

from prodml.serving.batching.batcher import Batcher, BatchObserver, BatchSettings
from prodml.serving.batching.cost import BatchCostModel

__all__ = ["BatchCostModel", "BatchObserver", "BatchSettings", "Batcher"]
