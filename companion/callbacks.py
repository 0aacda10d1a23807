"""Telling a consumer something from a thread that must outlive the consumer's bugs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

log = logging.getLogger(__name__)

News = TypeVar("News")


def tell(consumer: Callable[[News], None] | None, news: Callable[[], News]) -> None:
    """Hand `news()` to `consumer` (if any). Whatever raises, the news or the consumer, is
    logged and never re-raised: the voice and the listener must go on whatever happens."""
    if consumer is None:
        return
    try:
        consumer(news())
    except Exception:
        log.exception("telling a status consumer failed")
