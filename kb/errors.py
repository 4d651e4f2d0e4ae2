"""Errors whose messages tell the user what to do next (in Norwegian, the users' language)."""


class KBError(Exception):
    """Base class for errors a user can act on."""


class EmptyIndexError(KBError):
    """The knowledge base has no documents."""

    def __init__(self, message: str = "Kunnskapsbasen er tom. Kjør `kb ingest corpus/` først.") -> None:
        super().__init__(message)


class ModelNotFoundError(KBError):
    """The embedding model is not prepared or cannot be loaded offline."""


class StoreUnavailableError(KBError):
    """The Chroma store (directory or server) cannot be reached."""


class StoreLockedError(KBError):
    """Another process is writing to the embedded store."""


class AccessDeniedError(KBError):
    """The user's role does not allow this action."""
