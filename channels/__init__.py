"""Channel adapters: one module per channel, each `read(path, config) -> ChannelRead`."""
from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # importing unisono.channels.parsing alone does not load pydantic
    from unisono.domain.config import ProjectConfig
    from unisono.domain.models import ChannelRead, Claim, Offer, Rejection


def _module(channel: str):
    # imported on demand so one channel's parser never slows another
    from unisono.domain.models import CHANNELS

    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r} (known: {', '.join(CHANNELS)})")
    return importlib.import_module(f"unisono.channels.{channel}")


def adapter(channel: str) -> Callable[[Path, ProjectConfig], ChannelRead]:
    """The reader of a channel: the whole file as one ChannelRead."""
    return _module(channel).read


def stream(channel: str, path: Path, config: ProjectConfig, notes: list[str],
           published_at: datetime | None = None) -> Iterator[Offer | Rejection | Claim]:
    """The channel's file one offer, rejection or claim at a time, for files of any size.
    `notes` (what a user should know about the whole file) is complete once it is exhausted.
    published_at: when the channel published the file (default now), for dates written without a
    year (a newsletter's "nur bis 30.11."); feeds and price files write whole dates."""
    if channel == "newsletter":
        return _module(channel).stream(path, config, notes, published_at)
    return _module(channel).stream(path, config, notes)
