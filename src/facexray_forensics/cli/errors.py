"""One way for the research commands to turn a library's refusal into a usage error."""

from collections.abc import Iterator
from contextlib import contextmanager

import click


@contextmanager
def usage_errors(*kinds: type[Exception]) -> Iterator[None]:
    """Re-raise ``kinds`` (the library's "bad input" errors) as click usage errors: message, no traceback."""
    try:
        yield
    except kinds as error:
        raise click.UsageError(str(error)) from error
