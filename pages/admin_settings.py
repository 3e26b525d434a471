"""Settings (admins only): the team's Veo credentials, stored encrypted and shown by their last four only.

A thin page: the guard first, then one editor per credential; the services refuse
non-admins again. Imports only streamlit, ``core`` and ``pages._ui``.
"""

from __future__ import annotations

import streamlit as st

from pages._ui import account_widgets, guards, state

LABELS = {
    "gemini_api_key": (
        "Gemini API key",
        True,
        "Veo through the Gemini API. Every generation uses it, except those of a creator who set a personal key.",
    ),
    "vertex_project": ("Vertex project", False, "Google Cloud project for Vertex AI mode (instead of the API key)."),
    "vertex_location": ("Vertex location", False, "Vertex AI region, e.g. us-central1."),
}
"""Each team credential: its label, whether it is a secret (a password field), and a line of help."""

admin = guards.require_admin()
studio = state.get_studio()

credentials = guards.admin_read(admin, studio.accounts.team_credentials)

st.title("Settings")
state.show_flash()
st.subheader("Veo credentials", anchor=False)
st.caption(
    "Stored encrypted in the database and used only on the server. Only the last four characters are ever "
    "shown; to change one, paste the new value."
)
if studio.settings.veo_configured:
    st.caption("The server's environment also sets Veo credentials; values saved here take precedence.")

for view in credentials:
    label, secret, help_text = LABELS.get(view.name, (view.name, True, ""))

    def save(value: str, name: str = view.name) -> object:
        return studio.accounts.set_team_credential(admin.id, name, value)

    account_widgets.credential_editor(label, view, save, key=f"settings_{view.name}", secret=secret, help=help_text)
