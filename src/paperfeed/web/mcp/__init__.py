"""The Model Context Protocol server at ``/mcp`` (``server.py``) and its tools (``tools.py``)."""
