"""Telling a consumer something from a thread that must outlive the consumer's bugs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

log = logging.getLogger(__name__)

News = TypeVar("News")


def tell(consumer: Callable[[News], None] | None, news: News) -> None:
    """Hand `news` to `consumer` (if any); a consumer that raises is logged, never re-raised:
    the voice and the listener must go on whatever their consumers do."""
    if consumer is None:
        return
    try:
        consumer(news)
    except Exception:
        log.exception("a status consumer failed on %r", news)
