"""Where prodml keeps its state, read from the environment (``PRODML_*``)."""
