"""Ids in AWS's formats: the buffered version-4 UUIDs are valid, distinct, and never repeated
by a forked worker."""

from __future__ import annotations

import os
import uuid

from trailgate.services import ids


def test_uuid4_text_is_a_version_4_uuid_in_text_form() -> None:
    seen = set()
    for _ in range(5000):  # more than one page of random bytes
        text = ids.uuid4_text()
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        seen.add(text)
    assert len(seen) == 5000
    assert uuid.UUID(ids.request_id()).version == 4


def test_a_forked_child_does_not_reuse_the_parents_random_bytes() -> None:
    ids.uuid4_text()  # the parent's buffer now holds unused bytes
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next ids and leave at once
        os.close(read_end)
        os.write(write_end, ",".join(ids.uuid4_text() for _ in range(3)).encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        child = reader.read().decode().split(",")
    os.waitpid(pid, 0)
    parent = [ids.uuid4_text() for _ in range(3)]
    assert len(child) == 3
    assert not set(child) & set(parent)
