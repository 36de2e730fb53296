"""GroupCommit: concurrent writes share commits, and each learns its outcome."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from common.errors import UnavailableError
from common.outbox import GroupCommit


class _SlowStore:
    """A commit that takes a while, so that submitters pile up behind it."""

    def __init__(self, fail: bool = False) -> None:
        self.groups: list[list[str]] = []
        self.fail = fail
        self._lock = threading.Lock()

    def commit(self, items: list[str]) -> None:
        time.sleep(0.02)
        with self._lock:
            self.groups.append(list(items))
        if self.fail:
            raise ConnectionError("store down")


def test_group_commit_alone_commits_its_own_item() -> None:
    store = _SlowStore()

    GroupCommit(store.commit).submit("a")

    assert store.groups == [["a"]]


def test_group_commit_concurrent_items_each_written_once_in_fewer_commits() -> None:
    store = _SlowStore()
    group = GroupCommit(store.commit)
    items = [f"item-{n}" for n in range(40)]

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(group.submit, items))

    written = [item for commit in store.groups for item in commit]
    assert sorted(written) == sorted(items)
    assert len(store.groups) < len(items)


def test_group_commit_respects_the_batch_limit() -> None:
    store = _SlowStore()
    group = GroupCommit(store.commit, limit=3)

    with ThreadPoolExecutor(max_workers=12) as pool:
        list(pool.map(group.submit, [str(n) for n in range(24)]))

    assert max(len(commit) for commit in store.groups) <= 3
    assert sum(len(commit) for commit in store.groups) == 24


def test_group_commit_failure_reaches_every_submitter_of_the_group() -> None:
    store = _SlowStore(fail=True)
    group = GroupCommit(store.commit)

    def submit(item: str) -> str:
        with pytest.raises(UnavailableError) as raised:
            group.submit(item)
        return raised.value.code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(submit, [str(n) for n in range(8)]))

    assert codes == ["outbox_mark_failed"] * 8
