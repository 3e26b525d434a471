"""VeoGen's REST API: a FastAPI app over the same core services as the pages (``api → core``).

``api/app.py`` builds the app (``create_app(studio)``; ``uvicorn api.app:app`` or
``veogen api`` serves it); ``security.py`` checks the Bearer token (a personal access
token or a JWT from the password login) and its scopes; ``ratelimit.py`` the per-token
limits; ``problems.py`` turns core's errors into RFC 9457 problem documents;
``schemas*.py`` hold the request and response models; ``routes/`` the ``/v1``
endpoints; ``mcp.py`` the MCP server at ``/mcp``; ``client.py``, ``commands.py`` and
``batch.py`` the CLI's ``generate`` and ``batch``, which talk to the API over HTTP.
Imports ``core`` and FastAPI/Pydantic/Uvicorn only — never ``pages``, ``workers``,
Streamlit or RQ (tests/unit/test_architecture.py).
"""
