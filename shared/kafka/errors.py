"""Errors that tell the consumer runner what to do with a record.

Retry policy follows the error type, never a blanket ``except``: a record that is bad stays bad
(dead-letter it), a blip is retried a few times, and a dependency that is down pauses consumption
until it returns, because dead-lettering every record during an outage would lose the call log.
"""

from __future__ import annotations


class RetryableError(Exception):
    """A transient failure of this record: retried with backoff, then dead-lettered."""

    retryable = True


class DependencyUnavailableError(Exception):
    """A dependency the handler needs (the database, the broker) is down.

    The runner keeps retrying the same record with capped backoff and never dead-letters it: the
    record is not at fault. Offsets are not committed past it, so nothing is lost.
    """

    retryable = True


class PoisonRecordError(Exception):
    """The record can never be processed (malformed, unknown type): dead-letter it at once."""

    retryable = False
