"""Settings (admins only): the team's Google credentials, stored encrypted and shown by their last four only,
and the models each credential offers now (Google's live model list).

A thin page: the guard first, then one editor per credential; the services refuse
non-admins again. Imports only streamlit, ``core`` and ``pages._ui``.
"""

from __future__ import annotations

import streamlit as st

from pages._ui import account_widgets, guards, state, widgets

LABELS = {
    "gemini_api_key": (
        "Gemini API key",
        True,
        "Gemini Omni Flash (and any Veo id Google still lists for the key) through the Gemini API. Every "
        "generation on the Gemini API uses it, except those of a creator who set a personal key.",
    ),
    "vertex_project": (
        "Vertex project",
        False,
        "Google Cloud project for Vertex AI (application-default credentials): Veo 3.1 and Omni 1.2.",
    ),
    "vertex_location": ("Vertex location", False, "Vertex AI region, e.g. us-central1."),
}
"""Each team credential: its label, whether it is a secret (a password field), and a line of help."""

admin = guards.require_admin()
studio = state.get_studio()

credentials = guards.admin_read(admin, studio.accounts.team_credentials)

st.title("Settings")
state.show_flash()
st.subheader("Google credentials", anchor=False)
st.caption(
    "Stored encrypted in the database and used only on the server. Only the last four characters are ever "
    "shown; to change one, paste the new value."
)
if studio.settings.veo_configured:
    st.caption("The server's environment also sets Google credentials; values saved here take precedence.")

for view in credentials:
    label, secret, help_text = LABELS.get(view.name, (view.name, True, ""))

    def save(value: str, name: str = view.name) -> object:
        return studio.accounts.set_team_credential(admin.id, name, value)

    account_widgets.credential_editor(label, view, save, key=f"settings_{view.name}", secret=secret, help=help_text)

st.subheader("Models offered", anchor=False)
st.caption(
    "What Google lists for each credential, intersected with the models VeoGen knows; read at start, every "
    f"{studio.settings.models_refresh_hours:g} hours, and after Google answers that a model is no longer available."
)
lists = guards.admin_read(admin, studio.generations.model_lists)
if not lists:
    st.info("No Google credential is configured: creators have the offline preview renderer only.")
for listing in lists:
    st.markdown(f"**{widgets.md(listing.credential)}** · {widgets.md(listing.surface_label)}")
    if listing.error:
        st.error(widgets.md(listing.error))
    st.caption(
        widgets.md(f"Offered: {', '.join(listing.offered) or 'none'} · list read {widgets.fmt_time(listing.read_at)}")
    )
if lists and st.button("Read the model lists again", icon=":material/refresh:"):
    guards.admin_read(admin, studio.generations.refresh_model_lists)
    state.flash("Model lists read again.")
    st.rerun()
