"""The store's exception tree. Every error carries a message a user can act on."""


class StoreError(Exception):
    """Base class for everything the store raises."""


class NotFound(StoreError):
    """An id, URL or file that the archive does not know."""


class QueryError(StoreError):
    """A search query that cannot be parsed; the message says what to fix."""
