"""VeoGen's REST API: a FastAPI app over the same core services as the pages (``api → core``).

``api/app.py`` builds the app (``create_app(studio)``; ``uvicorn api.app:app`` or
``veogen api`` serves it); ``security.py`` checks personal access tokens and their
scopes; ``problems.py`` turns core's errors into RFC 9457 problem documents;
``schemas.py`` holds the request and response models; ``routes/`` the ``/v1``
endpoints. Imports ``core`` and FastAPI/Pydantic/Uvicorn only — never ``pages``,
``workers``, Streamlit or RQ (tests/unit/test_architecture.py).
"""
