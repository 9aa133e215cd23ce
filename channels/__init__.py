"""Channel adapters: one module per channel, each `read(path, config) -> ChannelRead`."""
from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from unisono.domain.config import ProjectConfig
from unisono.domain.models import CHANNELS, ChannelRead


def adapter(channel: str) -> Callable[[Path, ProjectConfig], ChannelRead]:
    """The reader of a channel; imported on demand so one channel's parser never slows another."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r} (known: {', '.join(CHANNELS)})")
    return importlib.import_module(f"unisono.channels.{channel}").read
