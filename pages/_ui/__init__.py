"""Streamlit-only helpers shared by the pages: the cached Studio, session keys, guards, widgets.

Imports streamlit and ``core`` (studio, services dataclasses, catalog, status,
errors); never sqlalchemy, rq, google-genai, cv2, av or workers.
"""
