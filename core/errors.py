"""VeoGen's one exception tree. Every error a user or operator can see is one of these.

    VeoGenError
    ├── ConfigurationError         a process refuses to start: a setting is missing, weak or a known default
    ├── ValidationError            bad user input; ``.field`` names the input, the message says what is wrong
    ├── NotFoundError              no such row, or not yours (we never say which)
    ├── PermissionDeniedError      the caller's role does not allow it
    ├── BudgetError                the request would go over a budget or cap
    ├── ConfirmationRequired       an identical paid request was made moments ago; ask before paying again
    ├── TransitionError            an illegal status change (see core.status)
    ├── MediaError                 a corrupt, truncated or unsupported media file
    ├── StorageError               reading or writing stored media failed
    └── ProviderError              a provider call failed; ``.code`` and ``.retryable``
        ├── ProviderUnavailableError   the provider is not configured or not reachable
        └── SafetyFilteredError        the provider refused the content

Imports nothing but the standard library.
"""

from __future__ import annotations


class VeoGenError(Exception):
    """Base of every error VeoGen raises on purpose."""


class ConfigurationError(VeoGenError):
    """A setting is missing, weak or a known default; the message names each one by its variable."""


REFUSED_CONFIGURATION_EXIT = 2
"""Exit status of a process that refused its configuration (``veogen up`` does not restart it)."""


class ValidationError(VeoGenError):
    """Bad user input; the message says exactly what is wrong."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFoundError(VeoGenError):
    """The row does not exist or does not belong to the caller."""


class PermissionDeniedError(VeoGenError):
    """The caller may not do this."""


class BudgetError(VeoGenError):
    """The request would go over a budget or an open-generation cap."""


class ConfirmationRequired(VeoGenError):
    """The same paid request was submitted moments ago; ``existing_id`` names it."""

    def __init__(self, message: str, *, existing_id: str) -> None:
        super().__init__(message)
        self.existing_id = existing_id


class TransitionError(VeoGenError):
    """A status change that the transition table does not allow."""


class MediaError(VeoGenError):
    """A media file is corrupt, truncated or unsupported."""


class StorageError(VeoGenError):
    """Reading or writing stored media failed."""


class ProviderError(VeoGenError):
    """A provider call failed; ``retryable`` says whether trying again may help."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "UNKNOWN",
        retryable: bool = False,
        retry_after_seconds: float | None = None,
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable
        self.retry_after_seconds = retry_after_seconds
        """How long the provider asked us to wait (a 429's retry delay), in seconds."""
        self.outcome_unknown = outcome_unknown
        """The request may have reached the provider (no answer came): a submit must not be repeated."""

    @property
    def model_gone(self) -> bool:
        """Google answered that the model id is shut down (a 404 "… is no longer available")."""
        return self.code in ("NOT_FOUND", "404") and "no longer available" in str(self)


class ProviderUnavailableError(ProviderError):
    """The provider is not configured or cannot be reached."""


class SafetyFilteredError(ProviderError):
    """The provider refused the content on safety grounds."""
