"""Serving: Open Inference Protocol V2 over REST and gRPC, plus V1, SageMaker and records.

Public API::

    from prodml.serving import ServerConfig, load_config, run_server, serve, TestServer

The data plane (``dataplane``) knows nothing of transports; ``codecs`` turn bytes into numpy and
back; ``batching`` merges concurrent requests; ``status`` is the one error-to-status table.
"""

from prodml.serving.batching import Batcher, BatchSettings
from prodml.serving.config import BatchingConfig, ModelConfig, ServerConfig, load_config
from prodml.serving.server import run_server, serve
from prodml.serving.sources import DefaultLoader, InMemoryLoader, ModelLoader
from prodml.serving.testserver import TestServer

__all__ = [
    "BatchSettings",
    "Batcher",
    "BatchingConfig",
    "DefaultLoader",
    "InMemoryLoader",
    "ModelConfig",
    "ModelLoader",
    "ServerConfig",
    "TestServer",
    "load_config",
    "run_server",
    "serve",
]
