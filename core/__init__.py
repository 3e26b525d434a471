"""VeoGen core: everything that is not UI. Never imports streamlit, pages or workers."""
