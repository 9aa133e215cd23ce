"""Shared fixtures: a catalog on SQLite, and on a real PostgreSQL server when one is given."""
from __future__ import annotations

import os

import pytest
from sqlmodel import SQLModel

from unisono.catalog.db import open_catalog

POSTGRES_URL = os.environ.get("UNISONO_TEST_POSTGRES")


def _postgres_or_skip() -> str:
    if POSTGRES_URL:
        return POSTGRES_URL
    if os.environ.get("CI"):
        pytest.fail("CI must provide a PostgreSQL server in UNISONO_TEST_POSTGRES (.ci/run starts one)")
    pytest.skip("no PostgreSQL server: set UNISONO_TEST_POSTGRES (bash .ci/run starts one)")


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog(request, tmp_path):
    """An empty catalog on each backend the project supports."""
    if request.param == "sqlite":
        engine = open_catalog(f"sqlite:///{tmp_path / 'catalog.db'}")
        yield engine
        engine.dispose()
        return
    engine = open_catalog(_postgres_or_skip())
    SQLModel.metadata.drop_all(engine)
    SQLModel.metadata.create_all(engine)
    yield engine
    engine.dispose()
