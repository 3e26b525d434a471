"""VeoProvider and GeminiPromptHelper against the local Veo stand-in, through the real google-genai client."""
