"""Request ids are unique within a process, across threads, and in a forked child."""

from __future__ import annotations

import os
import threading

from prodml.serving.predictions import new_request_id


def test_ids_are_32_hex_digits_and_never_repeat_across_threads() -> None:
    seen: list[list[str]] = [[] for _ in range(4)]

    def draw(out: list[str]) -> None:
        out.extend(new_request_id() for _ in range(5_000))

    threads = [threading.Thread(target=draw, args=(out,)) for out in seen]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [i for out in seen for i in out]
    assert len(set(ids)) == len(ids) == 20_000
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


def test_a_forked_child_draws_a_new_prefix() -> None:
    read, write = os.pipe()
    parent = new_request_id()
    pid = os.fork()
    if pid == 0:  # the child: report its next id, exit at once
        os.write(write, new_request_id().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    os.close(read)
    os.close(write)
    assert child[:16] != parent[:16]
