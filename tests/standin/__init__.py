"""Tests of the local Veo REST stand-in, driven by the real google-genai client."""
