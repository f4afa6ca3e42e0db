"""QEMU's cache= and aio= options of -drive and of the file driver: the
five cache modes read back through QMP as on QEMU; a Linux guest sees the
write cache they give; cache=none opens the image with O_DIRECT (past the
host's page cache); aio=io_uring and aio=native run the disk's requests on
an io_uring / a Linux AIO context; and whatever the combination, what the
guest writes is what the image holds (qemu-img check clean for qcow2)."""
import hashlib
import os
import subprocess
import time

import pytest

from armvm_test import Qmp, armvm_path
from linux_guest import Guest

MIB = 1 << 20
O_DIRECT = 0o40000  # (x86-64 and arm64 differ; these tests run on x86-64 hosts)


def qmp_blocks(emu, args, sock):
    """query-block's cache of drive d0, and (drv, cache) of every named node."""
    p = subprocess.Popen([emu, "-M", "virt", "-nographic", "-nodefaults", "-S", "-qmp",
                          f"unix:{sock},server=on,wait=off"] + args,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        q = Qmp.connect_unix(str(sock), timeout=10)
        q.negotiate()
        drive = [b["inserted"]["cache"] for b in q.ok("query-block") if b.get("device") == "d0"
                 or b.get("inserted", {}).get("node-name") == "d0"]
        nodes = [(n["drv"], n["cache"]) for n in q.ok("query-named-block-nodes")]
        q.close()
        return drive, nodes
    finally:
        p.kill()
        p.wait()
        os.unlink(sock)


FORMS = [
    "cache=writeback", "cache=none", "cache=writethrough", "cache=directsync", "cache=unsafe",
    "cache=none,aio=native", "cache=writethrough,cache.direct=on,cache.no-flush=on",
]


@pytest.mark.parametrize("form", FORMS)
def test_drive_cache_modes_read_back_as_qemus(tmp_path, form):
    img = tmp_path / "d.img"
    img.write_bytes(bytes(MIB))
    args = ["-drive", f"file={img},if=none,id=d0,format=raw,{form}", "-device", "virtio-blk-pci,drive=d0"]
    ours = qmp_blocks(armvm_path(), args, tmp_path / "q.sock")
    ref = qmp_blocks("qemu-system-aarch64", args, tmp_path / "q.sock")
    assert ours == ref
    assert ours[0], "drive d0 not listed"


def test_blockdev_cache_and_device_write_cache_read_back_as_qemus(tmp_path):
    img = tmp_path / "d.img"
    img.write_bytes(bytes(MIB))
    # libvirt's shape: the file node with cache and aio, the format node, write-cache on the device
    args = ["-blockdev", f'{{"driver":"file","filename":"{img}","node-name":"f0","aio":"io_uring",'
                         '"cache":{"direct":true,"no-flush":false}}',
            "-blockdev", '{"node-name":"d0","driver":"raw","file":"f0","cache":{"direct":true,"no-flush":false}}',
            "-device", "virtio-blk-pci,drive=d0,write-cache=off"]
    ours = qmp_blocks(armvm_path(), args, tmp_path / "q.sock")
    ref = qmp_blocks("qemu-system-aarch64", args, tmp_path / "q.sock")
    assert ours == ref
    assert ours[0] == [{"no-flush": False, "direct": True, "writeback": False}]


def image_fd_flags(pid, img):
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == str(img):
                with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                    return int(next(ln for ln in f if ln.startswith("flags:")).split()[1], 8)
        except FileNotFoundError:
            continue
    raise AssertionError(f"{img} is not open in process {pid}")


def has_io_uring(pid):
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == "anon_inode:[io_uring]":
                return True
        except FileNotFoundError:
            pass
    return False


def has_linux_aio(pid):
    with open(f"/proc/{pid}/maps") as f:
        return any("[aio]" in ln for ln in f)


# Four writers at once (so requests are in flight together), at offsets and
# sizes that are not the host's block multiples for the qcow2 metadata.
WRITE = ("dd if=/dev/urandom of=/tmp/r bs=64k count=64 2>/dev/null; "
         "for i in 0 1 2 3; do dd if=/tmp/r of=/dev/vda bs=64k skip=$((i*16)) seek=$((i*16+8)) count=16 "
         "conv=notrunc 2>/dev/null & done; wait; sync; md5sum /tmp/r")

CASES = [
    ("none", "native", "raw"),
    ("none", "io_uring", "qcow2"),
    ("writethrough", "io_uring", "raw"),
    ("directsync", "threads", "qcow2"),
    ("unsafe", "threads", "raw"),
    ("writeback", "io_uring", "qcow2"),
]


@pytest.mark.parametrize("cache,aio,fmt", CASES, ids=["-".join(c) for c in CASES])
def test_linux_writes_through_every_cache_and_aio_mode(tmp_path, cache, aio, fmt):
    img = tmp_path / f"d.{fmt}"
    if fmt == "raw":
        img.write_bytes(bytes(16 * MIB))
    else:
        assert subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=4096", str(img),
                               "16M"]).returncode == 0
    extra = ["-cpu", "cortex-a57", "-smp", "2", "-drive", f"file={img},if=none,id=d0,format={fmt},cache={cache},aio={aio}",
             "-device", "virtio-blk-pci,drive=d0"]
    with Guest(armvm_path(), extra) as g:
        wc = g.ok("cat /sys/block/vda/queue/write_cache")
        assert wc == ("write through" if cache in ("writethrough", "directsync") else "write back")
        pid = g.p.pid
        direct = bool(image_fd_flags(pid, img) & O_DIRECT)
        assert direct == (cache in ("none", "directsync"))
        assert has_io_uring(pid) == (aio == "io_uring")
        assert has_linux_aio(pid) == (aio == "native")
        want = g.ok(WRITE, timeout=300).split()[0]
        g.ok("echo 3 > /proc/sys/vm/drop_caches")
        got = g.ok("dd if=/dev/vda bs=64k skip=8 count=64 2>/dev/null | md5sum").split()[0]
        assert got == want
        assert g.ok("dd if=/dev/vda bs=64k count=8 2>/dev/null | md5sum").split()[0] == \
            hashlib.md5(bytes(8 * 64 * 1024)).hexdigest()
        assert g.poweroff() == 0
    if fmt == "qcow2":
        r = subprocess.run(["qemu-img", "check", str(img)], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        raw = tmp_path / "c.raw"
        assert subprocess.run(["qemu-img", "convert", "-O", "raw", str(img), str(raw)]).returncode == 0
        data = raw.read_bytes()
    else:
        data = img.read_bytes()
    assert hashlib.md5(data[8 * 65536:72 * 65536]).hexdigest() == want


def blockstats_after_guest_io(emu, tmp_path):
    """query-blockstats of drive d0 before and after a guest's direct reads,
    writes and flush: the differences of the counters, the furthest write,
    and the keys of the reply."""
    img = tmp_path / "s.img"
    img.write_bytes(bytes(16 * MIB))
    sock = tmp_path / "s.sock"
    if sock.exists():
        sock.unlink()
    extra = ["-cpu", "cortex-a57", "-drive", f"file={img},if=none,id=d0,format=raw",
             "-device", "virtio-blk-pci,drive=d0", "-qmp", f"unix:{sock},server=on,wait=off"]
    with Guest(emu, extra) as g:
        q = Qmp.connect_unix(str(sock))
        q.negotiate()

        def stats():
            (e,) = [e for e in q.ok("query-blockstats") if e["device"] == "d0"]
            return e

        before = stats()["stats"]
        g.ok("dd if=/dev/vda of=/dev/null bs=64k count=16 skip=10 iflag=direct 2>/dev/null; "
             "dd if=/dev/zero of=/dev/vda bs=64k count=4 seek=100 oflag=direct conv=fsync 2>/dev/null")
        after = stats()
        text = q.ok("human-monitor-command", {"command-line": "info blockstats"})
        q.close()
        g.kill()
    keys = ("rd_bytes", "wr_bytes", "rd_operations", "wr_operations")
    delta = {k: after["stats"][k] - before[k] for k in keys}
    delta["flushed"] = after["stats"]["flush_operations"] > before["flush_operations"]
    delta["wr_highest_offset"] = after["stats"]["wr_highest_offset"]
    delta["idle"] = "idle_time_ns" in after["stats"]
    shape = (sorted(after), sorted(after["stats"]), sorted(after["parent"]), sorted(after["parent"]["stats"]))
    return delta, shape, text


def test_query_blockstats_counts_what_the_guest_did_as_qemu_does(tmp_path):
    ours = blockstats_after_guest_io(armvm_path(), tmp_path)
    ref = blockstats_after_guest_io("qemu-system-aarch64", tmp_path)
    assert ours[0] == ref[0]
    assert ours[0]["rd_bytes"] == MIB and ours[0]["wr_bytes"] == 4 * 65536
    assert ours[0]["wr_highest_offset"] == 104 * 65536
    assert ours[1] == ref[1]
    import re
    shape = re.compile(r"d0: rd_bytes=\d+ wr_bytes=\d+ rd_operations=\d+ wr_operations=\d+ flush_operations=\d+ "
                       r"wr_total_time_ns=\d+ rd_total_time_ns=\d+ flush_total_time_ns=\d+ rd_merged=0 wr_merged=0 "
                       r"idle_time_ns=\d+\r\n")
    assert shape.fullmatch(ours[2]) and shape.fullmatch(ref[2]), (ours[2], ref[2])
