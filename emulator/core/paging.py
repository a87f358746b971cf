"""Paging through a queue: the opaque page tokens of a peek listing, and the one pager.

A peek listing is ordered by (eta, name); a token says "continue after this (eta, name)"
(keyset pagination), so pages stay consistent while tasks are added or leased. Every caller
that needs a whole queue (``/rpc_http`` QueryTasks, the shim's ``tasks()`` on either backend)
pages through it with :func:`iterate_tasks`, whatever carries the pages.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator

from emulator.core.service import QueueService
from emulator.domain.errors import ErrorCode, TaskQueueError
from emulator.domain.limits import MAX_PEEK_PAGE_SIZE
from emulator.domain.model import PeekFilter, StoredTask, TaskPage

#: Fetches the page after ``page_token`` (None: the first page), e.g. one ``peek`` call.
PageFetcher = Callable[[str | None], TaskPage]


def encode_page_token(eta_usec: int, name: str) -> str:
    """An opaque token for "continue after (eta_usec, name)"."""
    return base64.urlsafe_b64encode(f"{eta_usec}:{name}".encode()).decode().rstrip("=")


def decode_page_token(token: str) -> tuple[int, str]:
    """Undo :func:`encode_page_token`; a bad token raises INVALID_REQUEST."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        eta_text, name = raw.split(":", 1)
        eta = int(eta_text)
        if not -(2**63) <= eta < 2**63:
            raise ValueError("eta out of range")
        return eta, name
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise TaskQueueError(ErrorCode.INVALID_REQUEST, "invalid page_token") from None


def iterate_tasks(fetch_page: PageFetcher) -> Iterator[StoredTask]:
    """Every task of every page in order: ``fetch_page(None)``, then ``fetch_page(token)``
    with each page's ``next_page_token`` until a page has none. Errors of ``fetch_page``
    propagate (an unknown queue fails on the first page)."""
    token: str | None = None
    while True:
        page = fetch_page(token)
        yield from page.tasks
        token = page.next_page_token
        if token is None:
            return


def peek_pages(service: QueueService, queue: str) -> PageFetcher:
    """The pages of ``queue``'s whole listing from ``service``, as large as a page can be."""
    return lambda token: service.peek(queue, PeekFilter(limit=MAX_PEEK_PAGE_SIZE, page_token=token))


def all_tasks(service: QueueService, queue: str) -> list[StoredTask]:
    """Every task of ``queue`` in (eta, name) order.

    Raises:
        TaskQueueError: UNKNOWN_QUEUE (or INVALID_QUEUE_NAME) from the service.
    """
    return list(iterate_tasks(peek_pages(service, queue)))
