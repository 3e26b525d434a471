"""The smallest Streamlit app: no uploader, no state. bench/upload_memory.py --app minimal serves it to show
that uploads to any live session stay in Streamlit's memory after the session has gone."""

import streamlit as st

st.write("A page with no file uploader.")
