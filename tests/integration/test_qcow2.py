"""qcow2 disks under a Linux guest: what the guest writes through
virtio-blk lands in the qcow2 image as QEMU's tools read it (qemu-img check
clean, qemu-img convert gives the bytes), backing files stay untouched,
-snapshot writes nowhere, and killing armvm (kill -9) in the middle of heavy
writes never corrupts the image."""
import hashlib
import os
import random
import signal
import subprocess
import time

import pytest

from armvm_test import armvm_path
from linux_guest import Guest

MIB = 1 << 20


def qemu_img(*args):
    return subprocess.run(["qemu-img", *args], capture_output=True, text=True)


def check_clean(img, leaks_allowed=False):
    r = qemu_img("check", str(img))
    # 0: clean; 3: leaked clusters only (what a crash may leave, as QEMU)
    assert r.returncode in ((0, 3) if leaks_allowed else (0,)), r.stdout + r.stderr
    assert "ERROR" not in r.stdout and "corrupt" not in r.stdout.lower(), r.stdout
    return r.stdout


def raw_of(img, tmp_path):
    out = tmp_path / "converted.raw"
    r = qemu_img("convert", "-O", "raw", str(img), str(out))
    assert r.returncode == 0, r.stderr
    return out.read_bytes()


def md5(b):
    return hashlib.md5(b).hexdigest()


WRITE = ("dd if=/dev/urandom of=/tmp/r bs=1k count=2500 2>/dev/null; "
         "dd if=/tmp/r of=/dev/vda bs=1k seek=5000 conv=fsync 2>/dev/null; md5sum /tmp/r")


@pytest.mark.parametrize("form", ["drive-probed", "drive-format", "blockdev-chain"])
def test_linux_writes_a_qcow2_overlay_and_qemu_reads_the_same_bytes(tmp_path, form):
    base = tmp_path / "base.raw"
    base_bytes = random.Random(1).randbytes(24 * MIB)
    base.write_bytes(base_bytes)
    top = tmp_path / "top.qcow2"
    # (a relative backing name, resolved next to the overlay)
    assert subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw",
                           "-o", "cluster_size=16384", str(top), "32M"], cwd=tmp_path).returncode == 0
    if form == "drive-probed":
        disk = ["-drive", f"file={top},if=none,id=d0"]
    elif form == "drive-format":
        disk = ["-drive", f"file={top},if=none,id=d0,format=qcow2,discard=unmap"]
    else:  # what libvirt passes: every layer a node, the backing named
        disk = ["-blockdev", f'{{"driver":"file","filename":"{base}","node-name":"s2","auto-read-only":true}}',
                "-blockdev", '{"node-name":"f2","read-only":true,"driver":"raw","file":"s2"}',
                "-blockdev", f'{{"driver":"file","filename":"{top}","node-name":"s1","auto-read-only":true,'
                             '"discard":"unmap"}',
                "-blockdev", '{"node-name":"d0","read-only":false,"driver":"qcow2","file":"s1","backing":"f2"}']
    extra = ["-cpu", "cortex-a57"] + disk + ["-device", "virtio-blk-pci,drive=d0"]
    with Guest(armvm_path(), extra) as g:
        assert g.ok("cat /sys/block/vda/size") == str(32 * MIB // 512)
        # the backing file shows through, then zeroes past its end
        assert g.ok("dd if=/dev/vda bs=1M count=24 2>/dev/null | md5sum").split()[0] == md5(base_bytes)
        assert g.ok("dd if=/dev/vda bs=1M skip=24 count=8 2>/dev/null | md5sum").split()[0] == md5(bytes(8 * MIB))
        guest_md5 = g.ok(WRITE).split()[0]
        g.ok("echo 3 > /proc/sys/vm/drop_caches")
        assert g.ok("dd if=/dev/vda bs=1k skip=5000 count=2500 2>/dev/null | md5sum").split()[0] == guest_md5
        assert g.poweroff() == 0
    check_clean(top)
    data = raw_of(top, tmp_path)
    assert md5(data[5000 * 1024:7500 * 1024]) == guest_md5
    assert data[:5000 * 1024] == base_bytes[:5000 * 1024]
    assert data[7500 * 1024:24 * MIB] == base_bytes[7500 * 1024:]
    assert base.read_bytes() == base_bytes  # the backing file was not written


def test_snapshot_writes_to_a_temporary_overlay(tmp_path):
    img = tmp_path / "d.qcow2"
    assert qemu_img("create", "-q", "-f", "qcow2", str(img), "16M").returncode == 0
    before = img.read_bytes()
    for extra in (["-snapshot", "-drive", f"file={img},if=none,id=d0"],
                  ["-drive", f"file={img},if=none,id=d0,snapshot=on"]):
        with Guest(armvm_path(), extra + ["-device", "virtio-blk-pci,drive=d0"]) as g:
            g.ok("echo armvm-was-here | dd of=/dev/vda conv=fsync 2>/dev/null")
            g.ok("echo 3 > /proc/sys/vm/drop_caches")
            assert g.ok("head -c 14 /dev/vda") == "armvm-was-here"
            assert g.poweroff() == 0
        assert img.read_bytes() == before


def test_kill_9_during_heavy_writes_never_corrupts_a_qcow2_image(tmp_path):
    """20 times: boot from the image the last run was killed on, read it
    all, start heavy random writes, kill -9 armvm at a random moment; every
    time qemu-img check finds no corruption (leaks at most)."""
    img = tmp_path / "crash.qcow2"
    base = tmp_path / "base.raw"
    base.write_bytes(random.Random(2).randbytes(8 * MIB))
    assert qemu_img("create", "-q", "-f", "qcow2", "-b", str(base), "-F", "raw", "-o", "cluster_size=4096",
                    str(img), "48M").returncode == 0
    rnd = random.Random(3)
    writer = ("i=0; while true; do dd if=/dev/urandom of=/dev/vda bs=4k count=$((RANDOM % 64 + 1)) "
              "seek=$((RANDOM * 3 % 12000)) conv=notrunc 2>/dev/null; i=$((i+1)); "
              "[ $((i % 8)) = 0 ] && sync; done")
    for run in range(20):
        g = Guest(armvm_path(), ["-cpu", "cortex-a57", "-drive", f"file={img},if=none,id=d0",
                                 "-device", "virtio-blk-pci,drive=d0"])
        try:
            # the whole disk reads (the image the last kill left is sound)
            out, rc = g.cmd("md5sum /dev/vda")
            assert rc == 0, out
            g.p.stdin.write(f"({writer}) >/dev/null 2>&1 &\n".encode())
            g.p.stdin.flush()
            time.sleep(0.5 + rnd.random() * 2.5)
        finally:
            g.p.send_signal(signal.SIGKILL)
            g.__exit__()
        check_clean(img, leaks_allowed=True)
    # The guest wrote (the image grew past its empty size).
    assert os.path.getsize(img) > 4 * MIB
    check_clean(img, leaks_allowed=True)


def test_image_locks_are_qemus_so_armvm_qemu_and_qemu_img_see_each_other(tmp_path):
    """QEMU's lock-byte protocol: while armvm runs a VM on an overlay, its
    backing file stays readable by qemu-img and by a second VM; the overlay
    is refused to a QEMU that would write it, and armvm refuses a disk a
    running QEMU writes — each with QEMU's message."""
    base, top, mine = tmp_path / "base.qcow2", tmp_path / "top.qcow2", tmp_path / "mine.raw"
    assert qemu_img("create", "-q", "-f", "qcow2", str(base), "8M").returncode == 0
    assert qemu_img("create", "-q", "-f", "qcow2", "-b", str(base), "-F", "qcow2", str(top)).returncode == 0
    mine.write_bytes(b"\0" * MIB)
    common = ["-M", "virt", "-nodefaults", "-display", "none"]
    holder = subprocess.Popen([armvm_path()] + common + ["-S", "-drive", f"file={top},if=none,id=d0"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(1.5)
        assert holder.poll() is None
        assert qemu_img("info", str(base)).returncode == 0  # the backing file: readers welcome
        r = qemu_img("info", str(top))
        assert r.returncode == 1 and 'Failed to get shared "write" lock' in r.stderr
        r = subprocess.run(["qemu-system-aarch64"] + common + ["-drive", f"file={top},if=none,id=d0"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 1 and f'Failed to get "write" lock\nIs another process using the image [{top}]?' \
            in r.stderr
        # a second VM on the same backing file, through another overlay
        top2 = tmp_path / "top2.qcow2"
        assert qemu_img("create", "-q", "-f", "qcow2", "-b", str(base), "-F", "qcow2", str(top2)).returncode == 0
        second = subprocess.Popen(["qemu-system-aarch64"] + common + ["-S", "-drive", f"file={top2},if=none,id=d0"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(1.5)
        assert second.poll() is None, second.stderr.read()
        second.kill()
        second.wait()
    finally:
        holder.kill()
        holder.wait()
    # (QEMU takes the write permission for a disk a device uses)
    qemu = subprocess.Popen(["qemu-system-aarch64"] + common + ["-drive", f"file={mine},if=none,id=d0,format=raw",
                                                                "-device", "virtio-blk-pci,drive=d0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(1.5)
        r = subprocess.run([armvm_path()] + common + ["-drive", f"file={mine},if=none,id=d0,format=raw"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 1
        assert r.stderr.startswith(f"armvm: -drive file={mine},if=none,id=d0,format=raw: Failed to get ")
        assert r.stderr.endswith(f" lock\nIs another process using the image [{mine}]?\n")
    finally:
        qemu.kill()
        qemu.wait()


def test_qmp_blockdev_add_takes_qcow2_nodes_as_qemu_does(tmp_path):
    """blockdev-add of a qcow2 node over a file node (libvirt's hot-plug
    form), what query-named-block-nodes then says, and the error for a
    qcow2 node over a file that is not qcow2 — replies as QEMU's."""
    from armvm_test import Qmp
    img, raw = tmp_path / "d.qcow2", tmp_path / "r.raw"
    assert qemu_img("create", "-q", "-f", "qcow2", "-o", "cluster_size=65536", str(img), "16M").returncode == 0
    raw.write_bytes(b"\0" * MIB)

    def session(emu):
        sock = str(tmp_path / f"{os.path.basename(emu)}.qmp")
        p = subprocess.Popen([emu, "-M", "virt", "-nodefaults", "-display", "none", "-S",
                              "-qmp", f"unix:{sock},server=on,wait=off"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        try:
            for _ in range(100):
                if os.path.exists(sock):
                    break
                time.sleep(0.05)
            q = Qmp.connect_unix(sock)
            q.negotiate()
            out = [q.cmd("blockdev-add", {"driver": "file", "filename": str(img), "node-name": "f1"}),
                   q.cmd("blockdev-add", {"driver": "qcow2", "file": "f1", "node-name": "q1", "backing": None}),
                   q.cmd("blockdev-add", {"driver": "file", "filename": str(raw), "node-name": "f2"}),
                   q.cmd("blockdev-add", {"driver": "qcow2", "file": "f2", "node-name": "q2"})]
            nodes = q.cmd("query-named-block-nodes")["return"]
            q1 = [n for n in nodes if n["node-name"] == "q1"][0]
            out.append({k: q1[k] for k in ("drv", "ro", "backing_file_depth")})
            out.append({k: q1["image"][k] for k in ("virtual-size", "format", "cluster-size")})
            out.append(q1["image"]["format-specific"]["type"])
            out.append(q.cmd("blockdev-del", {"node-name": "q1"}))
            return out
        finally:
            p.kill()
            p.wait()

    ours, theirs = session(armvm_path()), session("qemu-system-aarch64")
    assert ours == theirs
    assert ours[1] == {"return": {}} and "not in qcow2 format" in ours[3]["error"]["desc"]
