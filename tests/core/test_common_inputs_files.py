"""core/common/inputs (`-` and `@file` arguments) and core/common/files (AtomicFile)."""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evctl.core.common.files import AtomicFile
from evctl.core.common.inputs import input_name, open_lines, read_text
from evctl.errors import UsageError


def test_read_text_value_file_and_stdin(tmp_path: Path) -> None:
    file = tmp_path / "e.json"
    file.write_text('{"a": 1}', encoding="utf-8")
    assert read_text('{"x": 1}') == '{"x": 1}'
    assert read_text(f"@{file}") == '{"a": 1}'
    assert read_text("-", io.StringIO("text")) == "text"
    assert read_text("-", io.TextIOWrapper(io.BytesIO("é".encode()))) == "é"  # read through .buffer


@pytest.mark.parametrize(
    ("value", "stdin", "message"),
    [
        ("@/no/such/file", None, "cannot read --detail file '/no/such/file': No such file or directory"),
        ("-", None, "no standard input to read --detail from (it is closed)"),
        ("-", io.TextIOWrapper(io.BytesIO(b"\xff\xfe")), "cannot read --detail from stdin: not UTF-8 text"),
    ],
)
def test_read_text_failures_are_usage_errors(value: str, stdin: Any, message: str) -> None:
    with pytest.raises(UsageError) as info:
        read_text(value, stdin, what="--detail")
    assert info.value.message == message and info.value.exit_code == 2


def test_read_text_of_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    file = tmp_path / "bin"
    file.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(UsageError, match="not UTF-8 text"):
        read_text(f"@{file}", what="the event")


def test_open_lines_reads_bytes_from_a_file_or_stdin(tmp_path: Path) -> None:
    file = tmp_path / "l.jsonl"
    file.write_bytes(b"a\nb\n")
    with open_lines(str(file)) as lines:
        assert list(lines) == [b"a\n", b"b\n"]
    with open_lines("-", io.TextIOWrapper(io.BytesIO(b"c\n"))) as lines:
        assert list(lines) == [b"c\n"]
    assert (input_name("-"), input_name("x.jsonl")) == ("stdin", "x.jsonl")


def test_open_lines_of_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info, open_lines(str(tmp_path / "nope"), hint="check --file"):
        pass
    assert info.value.message == f"cannot read {tmp_path / 'nope'}: No such file or directory"
    assert info.value.hint == "check --file"


def test_atomic_file_replaces_the_target_only_on_commit(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    out = AtomicFile.create(target, what="--failed-to")
    assert target.read_text() == "old\n"  # nothing happens to the target before commit
    out.commit(["new 1\n", "new 2\n"])
    assert target.read_text() == "new 1\nnew 2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]  # no temporary file left


def test_atomic_file_discard_leaves_the_target_as_it_was(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    AtomicFile.create(target).discard()
    assert target.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_atomic_file_refuses_a_directory_or_an_unwritable_place(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"--failed-to '.*' is a directory"):
        AtomicFile.create(tmp_path, what="--failed-to")
    with pytest.raises(UsageError, match="cannot write --failed-to file"):
        AtomicFile.create(tmp_path / "no" / "such" / "dir" / "f", what="--failed-to")


@pytest.mark.parametrize("budget", [0, 1, 5, 11])
def test_atomic_file_commit_on_a_full_disk_leaves_the_target_and_no_temporary(
    tmp_path: Path, budget: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import os

    from evctl.core.common.files import FileWriteError

    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    out = AtomicFile.create(target, what="--failed-to")
    real = os.write
    left = {"n": budget}

    def write(fd: int, data: bytes) -> int:
        if left["n"] <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        n = real(fd, bytes(data)[: left["n"]])
        left["n"] -= n
        return n

    monkeypatch.setattr(os, "write", write)
    with pytest.raises(FileWriteError) as info:
        out.commit(["new 1\n", "new 2\n"])
    monkeypatch.setattr(os, "write", real)
    assert str(info.value).startswith(f"disk full writing --failed-to {target} (No space left on device)")
    assert info.value.exit_code == 1
    assert target.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_atomic_file_commit_interrupted_removes_its_temporary(tmp_path: Path) -> None:
    def lines() -> Iterator[str]:
        yield "one\n"
        raise KeyboardInterrupt

    out = AtomicFile.create(tmp_path / "f.jsonl")
    with pytest.raises(KeyboardInterrupt):
        out.commit(lines())
    assert list(tmp_path.iterdir()) == []


def test_atomic_file_keeps_the_targets_mode_and_gives_a_new_file_the_umasks(tmp_path: Path) -> None:
    existing = tmp_path / "failed.jsonl"
    existing.write_text("old\n")
    existing.chmod(0o640)
    AtomicFile.create(existing).commit(["new\n"])
    assert stat.S_IMODE(existing.stat().st_mode) == 0o640 and existing.read_text() == "new\n"
    previous = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh.jsonl"
        AtomicFile.create(fresh).commit(["x\n"])
    finally:
        os.umask(previous)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o644  # as open() would make it, not mkstemp's 0600
