"""Huge pages for a lasting zygote (hugepages.py): collapsed where the kernel can, a no-op where it cannot."""

from __future__ import annotations

import os
import struct

import pytest

from kata_runner import hugepages


def in_child(body) -> tuple[int, int]:
    """body() in a forked child (collapsing changes the process for good): (its result, AnonHugePages in kB)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        result = -1
        try:
            result = body()
        finally:
            huge = 0
            with open("/proc/self/smaps_rollup") as f:
                for line in f:
                    if line.startswith("AnonHugePages:"):
                        huge = int(line.split()[1])
            os.write(write, struct.pack("!qq", result, huge))
            os._exit(0)
    os.close(write)
    data = os.read(read, 16)
    os.close(read)
    os.waitpid(pid, 0)
    return struct.unpack("!qq", data)


needs_collapse = pytest.mark.skipif(
    not hugepages.wanted() or tuple(int(n) for n in os.uname().release.split(".")[:2]) < (6, 1),
    reason="needs Linux 6.1+ with transparent huge pages not set to never")


@needs_collapse
def test_a_zygote_s_memory_is_backed_by_huge_pages_once_collapsed() -> None:
    import torch  # noqa: F401 - the memory a zygote has

    collapsed, huge_kb = in_child(hugepages.collapse)
    assert collapsed >= 64 * 2**20, "torch alone holds over 100 MB of private memory"
    assert huge_kb * 1024 >= collapsed // 2, "the collapsed memory is mapped by huge pages"


def test_a_kernel_without_madv_collapse_leaves_the_memory_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hugepages, "MADV_COLLAPSE", 9999)  # an advice no kernel knows: EINVAL, as before 6.1
    assert in_child(hugepages.collapse)[0] == 0


def test_kata_huge_pages_off_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KATA_HUGE_PAGES", "off")
    assert not hugepages.wanted()
    assert in_child(hugepages.collapse) == (0, in_child(lambda: 0)[1])


@needs_collapse
def test_the_time_budget_bounds_the_work() -> None:
    assert in_child(lambda: hugepages.collapse(budget_seconds=0))[0] == 0


@needs_collapse
def test_a_mostly_empty_reservation_stays_empty() -> None:
    """Collapsing fills a 2 MB stretch's missing pages: a reservation with one page touched (a thread's stack,
    an allocator's arena) must not become 8 MB of memory."""
    import ctypes
    import mmap

    def body() -> int:
        size = 8 * 2**20
        area = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        area[size // 2] = 1  # one page of it in use
        hugepages.collapse()
        libc = ctypes.CDLL(None)
        libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
        vector = ctypes.create_string_buffer(size // hugepages.PAGE)
        assert libc.mincore(ctypes.addressof(ctypes.c_char.from_buffer(area)), size, vector) == 0
        return sum(b & 1 for b in vector.raw)

    assert in_child(body)[0] == 1
