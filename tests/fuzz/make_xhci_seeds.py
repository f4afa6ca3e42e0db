#!/usr/bin/env python3
"""Writes tests/fuzz/seeds/fuzz_xhci/: inputs for fuzz_xhci that do what a
driver does (enable a slot, address the device, read its descriptor,
configure its endpoints, then bulk-only SCSI commands to the USB disk, or
an interrupt transfer the keyboard completes on a key press), so the
fuzzer starts from deep inside the controller. The operation encoding is
fuzz_xhci.cpp's."""
import os
import struct

INPUT, BUF = 0x40008000, 0x80000


def cmd(param, control, to_input=False):
    return bytes([0x13 if to_input else 0x03]) + struct.pack("<QII", param, control, 0)


def ctx(idx, words, slot2=False, ring=False):
    op = 0x04 | (0x10 if ring else 0) | (0x20 if slot2 else 0)
    return bytes([op, idx]) + struct.pack("<4Q", *words)


def trb(slot, dci, param, status, control, buf=False, ring=True):
    op = 0x05 | (0x10 if slot == 2 else 0) | (0x20 if buf else 0) | (0x40 if ring else 0)
    return bytes([op, dci - 1]) + struct.pack("<QII", param, status, control)


def ram(off, data):
    out = b""
    data = data + b"\0" * (-len(data) % 8)
    for i in range(0, len(data), 8):
        out += bytes([0x02]) + struct.pack("<IQ", BUF + off + i, struct.unpack("<Q", data[i:i + 8])[0])
    return out


def setup(slot, req, data_len, in_dir, buf_off=0x400):
    rt, r, v, i, ln = req
    s = trb(slot, 1, struct.unpack("<Q", struct.pack("<BBHHH", rt, r, v, i, ln))[0], 8,
            2 << 10 | 1 << 6 | ((3 if in_dir else 2) << 16 if data_len else 0), ring=False)
    if data_len:
        s += trb(slot, 1, buf_off, data_len, 3 << 10 | (1 << 16 if in_dir else 0) | 1 << 2, buf=True, ring=False)
    s += trb(slot, 1, 0, 0, 4 << 10 | 1 << 5 | (0 if data_len and in_dir else 1 << 16))
    return s


def address(slot, port, speed, mps0, slot2):
    s = cmd(0, 9 << 10)  # Enable Slot
    s += ctx(0, [3 << 32, 0, 0, 0])
    s += ctx(1, [(1 << 27 | speed << 20) | (port << 16) << 32, 0, 0, 0])
    s += ctx(2, [(4 << 3 | 3 << 1 | mps0 << 16) << 32, 0, 0, 0], slot2=slot2, ring=True)
    s += cmd(0, 11 << 10 | slot << 24, to_input=True)  # Address Device
    s += setup(slot, (0x80, 6, 0x100, 0, 18), 18, True)  # GET_DESCRIPTOR(device)
    s += setup(slot, (0x80, 6, 0x200, 0, 64), 64, True)  # GET_DESCRIPTOR(configuration)
    return s


def configure(slot, eps, slot2):
    add = 1
    s = b""
    for dci, ep_type, mps in eps:
        add |= 1 << dci
        s += ctx(dci + 1, [(ep_type << 3 | 3 << 1 | mps << 16) << 32, 0, 0, 0], slot2=slot2, ring=True)
    s += ctx(0, [add << 32, 0, 0, 0])
    s += ctx(1, [(max(d for d, _, _ in eps) << 27), 0, 0, 0])
    s += cmd(0, 12 << 10 | slot << 24, to_input=True)  # Configure Endpoint
    s += setup(slot, (0, 9, 1, 0, 0), 0, False)  # SET_CONFIGURATION(1)
    return s


def scsi(tag, cdb, length, data_in, data=b""):
    cbw = struct.pack("<IIIBBB", 0x43425355, tag, length, 0x80 if data_in else 0, 0, len(cdb)) + cdb.ljust(16, b"\0")
    s = ram(0x100, cbw) + trb(1, 4, 0x100, 31, 1 << 10 | 1 << 5, buf=True)
    if length and data_in:
        s += trb(1, 3, 0x1000, length, 1 << 10 | 1 << 2 | 1 << 5, buf=True)
    elif length:
        s += ram(0x2000, data) + trb(1, 4, 0x2000, length, 1 << 10 | 1 << 5, buf=True)
    s += trb(1, 3, 0x300, 13, 1 << 10 | 1 << 2 | 1 << 5, buf=True)  # the CSW
    return s


disk = address(1, 2, 4, 512, False) + configure(1, [(3, 6, 1024), (4, 2, 1024)], False)
disk += setup(1, (0xa1, 0xfe, 0, 0, 1), 1, True)  # Get Max LUN
disk += scsi(1, bytes([0x12, 0, 0, 0, 36, 0]), 36, True)          # INQUIRY
disk += scsi(2, bytes([0x00] * 6), 0, False)                      # TEST UNIT READY (unit attention)
disk += scsi(3, bytes([0x03, 0, 0, 0, 18, 0]), 18, True)          # REQUEST SENSE
disk += scsi(4, bytes([0x25] + [0] * 9), 8, True)                 # READ CAPACITY (10)
disk += scsi(5, bytes([0x1a, 0, 0x3f, 0, 192, 0]), 192, True)     # MODE SENSE (6)
disk += scsi(6, bytes([0x2a, 0, 0, 0, 0, 8, 0, 0, 1, 0]), 512, False, b"armvm" * 100)  # WRITE (10)
disk += scsi(7, bytes([0x28, 0, 0, 0, 0, 8, 0, 0, 1, 0]), 512, True)   # READ (10)
disk += scsi(8, bytes([0x35] + [0] * 9), 0, False)                # SYNCHRONIZE CACHE
disk += cmd(0, 15 << 10 | 3 << 16 | 1 << 24) + cmd(0x40040000 + 0x800 * 3 + 1, 16 << 10 | 3 << 16 | 1 << 24)

# The keyboard: port 1 is the first USB 2 port (xHCI port 5), reset first.
kbd = bytes([0x00]) + struct.pack("<HI", 0x440 + 0x10 * 4, 1 << 4 | 1 << 9)
kbd += address(1, 5, 3, 64, False) + configure(1, [(3, 7, 8)], False)
kbd += setup(1, (0x21, 0x0a, 0, 0, 0), 0, False)  # SET_IDLE
kbd += setup(1, (0x81, 6, 0x2200, 0, 63), 63, True)  # the report descriptor
kbd += trb(1, 3, 0x500, 8, 1 << 10 | 1 << 2 | 1 << 5, buf=True)  # NAKed until ...
kbd += bytes([0x17, 0x04]) + bytes([0x07, 0x04])  # ... "a" is pressed and released
kbd += trb(1, 3, 0x500, 8, 1 << 10 | 1 << 2 | 1 << 5, buf=True)

d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds", "fuzz_xhci")
os.makedirs(d, exist_ok=True)
for name, data in (("usb-disk", disk), ("usb-keyboard", kbd)):
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
