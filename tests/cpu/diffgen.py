"""Random A64 integer instruction streams, run on armvm's CPU core
(armvm-user-run) and on Debian's qemu-aarch64, compared register by
register, flag by flag and byte by byte (DESIGN.md habit 8).

Each case is a small static ELF: it loads random values into X0-X25,
X29, X30, NZCV and V0-V31 (FPSR cleared), points X28 at a 4 KiB random
data buffer, runs N random instructions, stores every register, NZCV, the
V registers and FPSR after the buffer and write()s it all to stdout. X26, X27 and X28 are reserved as address
registers (never destinations); SP is never used (the two runners place the
stack differently). The "branch" group puts control flow among them:
conditional and unconditional branches forward over random code, counted
loops (1-4 times), calls by BL and BLR that return, indirect jumps; the
random code starts a random distance before a page boundary. The "smc"
group rewrites an instruction of a loop between its iterations (with
DC CVAU, IC IVAU and ISB, as software must); the code is writable (one RWX
segment). Some cases end in an exception inside the stream (a load or store
to an unmapped page, a misaligned exclusive or acquire/release, a branch to
an unmapped page, UDF): the case's handler for SIGSEGV, SIGBUS and SIGILL
stores the registers its signal frame holds in the same places, plus the
signal, si_code, the PC and the fault address.
"""
import os
import random
import shutil
import subprocess
import tempfile

CC = "aarch64-linux-gnu-gcc"
BUF = 4096
OUT = BUF + 256 + 512 + 8 + 32  # buffer, X registers + NZCV, V0-V31, FPSR, signal/code/PC/address
FREE = [r for r in range(31) if r not in (26, 27, 28)]  # destinations


def f(value, lo, width):
    return (value & ((1 << width) - 1)) << lo


_EXCLUDED = set()  # (while a loop's or a call's body is made: its counter, X30)


def rnd_reg(rng, allow_zr=True):
    if allow_zr and rng.random() < 0.08:
        return 31
    return rng.choice([r for r in FREE if r not in _EXCLUDED] if _EXCLUDED else FREE)


def src(rng):
    return rng.randrange(32)  # any source, XZR included (never SP here)


def src_nosp(rng):
    return rng.choice(list(range(31)))  # where 31 would mean SP


# ---- generators, one per encoding group: return a list of words.
def g_add_sub_imm(rng):
    sf, op, s = rng.randrange(2), rng.randrange(2), rng.randrange(2)
    rd = rnd_reg(rng, allow_zr=bool(s))
    return [f(sf, 31, 1) | f(op, 30, 1) | f(s, 29, 1) | f(0b100010, 23, 6) | f(rng.randrange(2), 22, 1)
            | f(rng.randrange(4096), 10, 12) | f(src_nosp(rng), 5, 5) | f(rd, 0, 5)]


def g_logical_imm(rng):
    sf = rng.randrange(2)
    opc = rng.randrange(4)
    # A valid (N, immr, imms): element size 2..64, not all ones (DecodeBitMasks).
    length = rng.randrange(1, 7 if sf else 6)
    esize = 1 << length
    s = rng.randrange(esize - 1)
    n = 1 if length == 6 else 0
    imms = s if length == 6 else ((0x3f & ~((1 << (length + 1)) - 1)) | s)
    rd = rnd_reg(rng, allow_zr=opc == 3)
    return [f(sf, 31, 1) | f(opc, 29, 2) | f(0b100100, 23, 6) | f(n, 22, 1) | f(rng.randrange(64), 16, 6)
            | f(imms, 10, 6) | f(src(rng), 5, 5) | f(rd, 0, 5)]


def g_move_wide(rng):
    sf = rng.randrange(2)
    opc = rng.choice([0, 2, 3])
    hw = rng.randrange(4 if sf else 2)
    return [f(sf, 31, 1) | f(opc, 29, 2) | f(0b100101, 23, 6) | f(hw, 21, 2) | f(rng.randrange(65536), 5, 16)
            | f(rnd_reg(rng), 0, 5)]


def g_bitfield(rng):
    sf = rng.randrange(2)
    opc = rng.randrange(3)
    lim = 64 if sf else 32
    return [f(sf, 31, 1) | f(opc, 29, 2) | f(0b100110, 23, 6) | f(sf, 22, 1) | f(rng.randrange(lim), 16, 6)
            | f(rng.randrange(lim), 10, 6) | f(src(rng), 5, 5) | f(rnd_reg(rng), 0, 5)]


def g_extr(rng):
    sf = rng.randrange(2)
    return [f(sf, 31, 1) | f(0b00100111, 23, 8) | f(sf, 22, 1) | f(src(rng), 16, 5)
            | f(rng.randrange(64 if sf else 32), 10, 6) | f(src(rng), 5, 5) | f(rnd_reg(rng), 0, 5)]


def g_adr(rng):
    return [f(rng.randrange(2), 31, 1) | f(rng.randrange(4), 29, 2) | f(0b10000, 24, 5)
            | f(rng.randrange(1 << 19), 5, 19) | f(rnd_reg(rng, False), 0, 5)]


def g_logical_reg(rng):
    sf = rng.randrange(2)
    return [f(sf, 31, 1) | f(rng.randrange(4), 29, 2) | f(0b01010, 24, 5) | f(rng.randrange(4), 22, 2)
            | f(rng.randrange(2), 21, 1) | f(src(rng), 16, 5) | f(rng.randrange(64 if sf else 32), 10, 6)
            | f(src(rng), 5, 5) | f(rnd_reg(rng), 0, 5)]


def g_add_sub_shift(rng):
    sf = rng.randrange(2)
    rn, rm, amount = src(rng), src(rng), rng.randrange(64 if sf else 32)
    if rng.random() < 0.15:  # one register twice, unshifted (SUBS Xd, Xn, Xn: one value for both operands)
        rm, amount = rn, 0
    return [f(sf, 31, 1) | f(rng.randrange(2), 30, 1) | f(rng.randrange(2), 29, 1) | f(0b01011, 24, 5)
            | f(rng.randrange(3), 22, 2) | f(rm, 16, 5) | f(amount, 10, 6)
            | f(rn, 5, 5) | f(rnd_reg(rng), 0, 5)]


def g_add_sub_ext(rng):
    sf, s = rng.randrange(2), rng.randrange(2)
    return [f(sf, 31, 1) | f(rng.randrange(2), 30, 1) | f(s, 29, 1) | f(0b01011001, 21, 8) | f(src(rng), 16, 5)
            | f(rng.randrange(8), 13, 3) | f(rng.randrange(5), 10, 3) | f(src_nosp(rng), 5, 5)
            | f(rnd_reg(rng, allow_zr=bool(s)), 0, 5)]


def g_adc(rng):
    return [f(rng.randrange(2), 31, 1) | f(rng.randrange(4), 29, 2) | f(0b11010000, 21, 8) | f(src(rng), 16, 5)
            | f(src(rng), 5, 5) | f(rnd_reg(rng), 0, 5)]


def g_ccmp(rng):
    imm = rng.randrange(2)
    return [f(rng.randrange(2), 31, 1) | f(rng.randrange(2), 30, 1) | f(0b111010010, 21, 9) | f(src(rng), 16, 5)
            | f(rng.randrange(16), 12, 4) | f(imm, 11, 1) | f(src(rng), 5, 5) | f(rng.randrange(16), 0, 4)]


def g_csel(rng):
    return [f(rng.randrange(2), 31, 1) | f(rng.randrange(2), 30, 1) | f(0b011010100, 21, 9) | f(src(rng), 16, 5)
            | f(rng.randrange(16), 12, 4) | f(rng.randrange(2), 10, 1) | f(src(rng), 5, 5) | f(rnd_reg(rng), 0, 5)]


def g_dp1(rng):
    sf = rng.randrange(2)
    op = rng.choice([0, 1, 2, 4, 5] + ([3] if sf else []))
    return [f(sf, 31, 1) | f(0b101101011000000, 16, 15) | f(op, 10, 6) | f(src(rng), 5, 5) | f(rnd_reg(rng), 0, 5)]


def g_dp2(rng):
    return [f(rng.randrange(2), 31, 1) | f(0b0011010110, 21, 10) | f(src(rng), 16, 5)
            | f(rng.choice([2, 3, 8, 9, 10, 11]), 10, 6) | f(src(rng), 5, 5) | f(rnd_reg(rng), 0, 5)]


def g_dp3(rng):
    sf = rng.randrange(2)
    op31, o0 = rng.choice([(0, 0), (0, 1)] + ([(1, 0), (1, 1), (5, 0), (5, 1), (2, 0), (6, 0)] if sf else []))
    return [f(sf, 31, 1) | f(0b11011, 24, 5) | f(op31, 21, 3) | f(src(rng), 16, 5) | f(o0, 15, 1)
            | f(src(rng), 10, 5) | f(src(rng), 5, 5) | f(rnd_reg(rng), 0, 5)]


# Loads and stores address the buffer through X28 (fixed), X27 (re-anchored
# before each writeback form) or X28 + X26 (register offset, X26 bounded).
ANCHOR_X27 = 0x91000000 | (2048 << 10) | (28 << 5) | 27          # add x27, x28, #2048


def and_x26(rng):
    # and x26, xN, #0x1f8 (N=1, immr=61, imms=5: six ones rotated to bits
    # 3..8), so X26 scaled by up to 8 stays inside the buffer.
    return 0x92000000 | f(1, 22, 1) | f(61, 16, 6) | f(5, 10, 6) | f(rng.choice(FREE), 5, 5) | 26


def ld_rt(rng, load):
    return rnd_reg(rng) if load else src(rng)


def g_ldst_uimm(rng):
    size = rng.randrange(4)
    opc = rng.choice([0, 1, 2] + ([3] if size < 2 else []))
    load = opc != 0
    imm = rng.randrange(min(4096, (BUF - 16) >> size))
    return [f(size, 30, 2) | f(0b111001, 24, 6) | f(opc, 22, 2) | f(imm, 10, 12) | f(28, 5, 5)
            | f(ld_rt(rng, load), 0, 5)]


def g_ldst_imm9(rng):
    size = rng.randrange(4)
    opc = rng.choice([0, 1] + ([2] if size < 3 else []) + ([3] if size < 2 else []))
    mode = rng.choice([0, 1, 3])
    imm9 = rng.randrange(-256, 256) & 0x1ff
    base = 27 if mode else 28
    words = [ANCHOR_X27] if mode else []
    return words + [f(size, 30, 2) | f(0b111000, 24, 6) | f(opc, 22, 2) | f(imm9, 12, 9) | f(mode, 10, 2)
                    | f(base, 5, 5) | f(ld_rt(rng, opc != 0), 0, 5)]


def g_ldst_reg(rng):
    size = rng.randrange(4)
    opc = rng.choice([0, 1] + ([2] if size < 3 else []) + ([3] if size < 2 else []))
    option = rng.choice([0b010, 0b011, 0b110, 0b111])
    return [and_x26(rng), f(size, 30, 2) | f(0b111000, 24, 6) | f(opc, 22, 2) | f(1, 21, 1) | f(26, 16, 5)
            | f(option, 13, 3) | f(rng.randrange(2), 12, 1) | f(0b10, 10, 2) | f(28, 5, 5)
            | f(ld_rt(rng, opc != 0), 0, 5)]


def g_ldst_pair(rng):
    opc = rng.choice([0, 1, 2])
    load = rng.randrange(2) if opc != 1 else 1
    mode = rng.choice([1, 2, 3] + ([0] if opc != 1 else []))
    imm7 = rng.randrange(-64, 64) & 0x7f
    base = 27
    rt = ld_rt(rng, load)
    rt2 = ld_rt(rng, load)
    while load and rt2 == rt and rt != 31:
        rt2 = ld_rt(rng, load)
    return [ANCHOR_X27, f(opc, 30, 2) | f(0b101, 27, 3) | f(mode, 23, 3) | f(load, 22, 1) | f(imm7, 15, 7)
            | f(rt2, 10, 5) | f(base, 5, 5) | f(rt, 0, 5)]


def g_excl(rng):
    # LDXR/LDAXR then STXR/STLXR to the same aligned address, or LDAR/STLR.
    size = rng.randrange(4)
    rt = rnd_reg(rng)
    if rng.random() < 0.3:
        load = rng.randrange(2)
        return [f(size, 30, 2) | f(0b001000, 24, 6) | f(1, 23, 1) | f(load, 22, 1) | f(31, 16, 5) | f(1, 15, 1)
                | f(31, 10, 5) | f(28, 5, 5) | f(ld_rt(rng, load), 0, 5)]
    ld = f(size, 30, 2) | f(0b001000, 24, 6) | f(1, 22, 1) | f(31, 16, 5) | f(rng.randrange(2), 15, 1) \
        | f(31, 10, 5) | f(28, 5, 5) | f(rt, 0, 5)
    rs = rnd_reg(rng)
    st_rt = src(rng)
    while rs == st_rt or rs == 28:
        rs = rnd_reg(rng)
    st = f(size, 30, 2) | f(0b001000, 24, 6) | f(rs, 16, 5) | f(rng.randrange(2), 15, 1) | f(31, 10, 5) \
        | f(28, 5, 5) | f(st_rt, 0, 5)
    return [ld, st] if rng.random() < 0.8 else [st]


def g_dc_zva(rng):
    # add x27, x28, #k; dc zva, x27: 64 zero bytes at x27 rounded down
    # (DCZID_EL0.BS 4), inside the buffer.
    k = rng.randrange(BUF)
    return [0x91000000 | f(k, 10, 12) | f(28, 5, 5) | 27, 0xd50b7420 | 27]


# ---- control flow: what compiled code does across branches (superblocks
# leaving from the middle, loops through direct links, calls and returns,
# indirect branches), around random straight-line code.
# (groups compiled code runs without calling the interpreter: a loop of
# these keeps its registers in host registers round the loop)
INLINE = ["add_sub_imm", "logical_imm", "move_wide", "bitfield", "extr", "logical_reg", "add_sub_shift",
          "add_sub_ext", "csel", "ccmp", "dp_2src", "dp_3src", "ldst_uimm", "ldst_imm9", "ldst_reg", "ldst_pair"]


def _straight(rng, n, exclude=(), skips=False, names=None):
    """n pieces of the other groups (or of `names`; with `skips`, some are
    forward skips); `exclude`: registers none of them writes."""
    saved = set(_EXCLUDED)
    _EXCLUDED.update(exclude)
    names = names or [g for g in usable() if g not in ("branch", "smc", "fault")]
    words = []
    for _ in range(n):
        words += _skip(rng) if skips and rng.random() < 0.3 else GROUPS[rng.choice(names)](rng)
        if _FAULT["armed"] and rng.random() < 0.3:  # (inside a loop's, a call's or a skip's body)
            words += g_fault(rng)
    _EXCLUDED.clear()
    _EXCLUDED.update(saved)
    return words


def _b(op, off):  # B (0x14) or BL (0x94) by `off` bytes
    return op << 24 | f(off >> 2, 0, 26)


def _cond_branch(rng, off):
    """A conditional branch by `off` bytes: B.cond, CBZ/CBNZ, TBZ/TBNZ."""
    kind = rng.randrange(3)
    if kind == 0:
        return 0x54000000 | f(off >> 2, 5, 19) | rng.randrange(15)
    if kind == 1:
        return f(rng.randrange(2), 31, 1) | 0x34000000 | f(rng.randrange(2), 24, 1) | f(off >> 2, 5, 19) | src(rng)
    bit = rng.randrange(64)
    return f(bit >> 5, 31, 1) | 0x36000000 | f(rng.randrange(2), 24, 1) | f(bit & 31, 19, 5) \
        | f(off >> 2, 5, 14) | src(rng)


def _adr(rd, off):
    return 0x10000000 | f(off & 3, 29, 2) | f(off >> 2, 5, 19) | rd


def _skip(rng):
    """A conditional branch (or B) forward over straight-line code."""
    body = _straight(rng, rng.randint(1, 3))
    off = 4 * (len(body) + 1)
    return [_b(0x14, off) if rng.random() < 0.1 else _cond_branch(rng, off)] + body


def g_branch(rng):
    kind = rng.choice(["skip", "skip", "loop", "call", "indirect"])
    if kind == "skip":
        return _skip(rng)
    if kind == "loop":  # 1-4 times round a body that leaves the counter alone
        c = rng.choice([r for r in FREE if r != 30])
        # (long bodies write more registers than compiled code caches)
        body = _straight(rng, rng.randint(1, 4) if rng.random() < 0.7 else rng.randint(5, 12), exclude={c}, skips=True,
                         names=INLINE if rng.random() < 0.5 else None)
        head = [0xd2800000 | f(rng.randint(1, 4), 5, 16) | c]  # movz xc, #n
        back = -4 * (len(body) + 1)
        if rng.random() < 0.5:  # sub xc, xc, #1; cbnz xc
            tail = [0xd1000400 | c << 5 | c, 0xb5000000 | f(back >> 2, 5, 19) | c]
        else:  # subs xc, xc, #1; b.ne
            tail = [0xf1000400 | c << 5 | c, 0x54000001 | f(back >> 2, 5, 19)]
        return head + body + tail
    if kind == "call":  # BL or ADR+BLR to a body that returns; then over it
        body = _straight(rng, rng.randint(1, 3), exclude={30}, skips=True)
        if rng.random() < 0.5:
            call = [_b(0x94, 8)]
        else:
            t = rng.choice([r for r in FREE if r != 30])
            call = [_adr(t, 12), 0xd63f0000 | t << 5]  # adr xt, f; blr xt
        return call + [_b(0x14, 4 * (len(body) + 2))] + body + [0xd65f03c0]
    # indirect: ADR + BR over straight-line code
    t = rng.choice(FREE)
    body = _straight(rng, rng.randint(1, 3))
    return [_adr(t, 4 * (len(body) + 2)), 0xd61f0000 | t << 5] + body


# ---- self-modifying code: a loop (2-3 times round) whose body holds a
# slot; after each iteration the slot gets a new instruction (stored,
# then DC CVAU, DSB, IC IVAU, DSB, ISB, as the architecture asks, or only
# the ISB), so the next iteration must run the new one: compiled code for
# the loop has to go when its page is written.
SLOT_GROUPS = ["add_sub_imm", "logical_imm", "move_wide", "bitfield", "extr", "logical_reg", "add_sub_shift",
               "add_sub_ext", "adc_sbc", "csel", "dp_1src", "dp_2src", "dp_3src", "simd_3same", "simd_2misc"]


def _one_word(rng):
    while True:
        w = GROUPS[rng.choice(SLOT_GROUPS)](rng)
        if len(w) == 1:
            return w[0]


def g_smc(rng):
    c, v, t = rng.sample([r for r in FREE if r != 30 and r not in _EXCLUDED], 3)
    saved = set(_EXCLUDED)
    _EXCLUDED.update({c, v, t})
    body1 = _straight(rng, rng.randint(0, 3), names=INLINE if rng.random() < 0.5 else None)
    slot = _one_word(rng)
    body2 = _straight(rng, rng.randint(0, 3))
    new = _one_word(rng)
    _EXCLUDED.clear()
    _EXCLUDED.update(saved)
    head = [0xd2800000 | f(rng.randint(2, 3), 5, 16) | c]  # movz xc, #n
    if rng.random() < 0.5:  # adr xt, slot; ldr wv, [xt]; str wv, [xt]: the
        # page is written before (a store then may find it in compiled code's
        # TLB: the store that changes the slot must still drop the loop)
        head += [_adr(t, 4 * (3 + len(body1))), 0xb9400000 | t << 5 | v, 0xb9000000 | t << 5 | v]
    # movz wv, #lo; movk wv, #hi, lsl #16; adr xt, slot; str wv, [xt]
    # (each iteration stores the new word again: the same value from the
    # second on, which must change nothing)
    tail = [0x52800000 | f(new & 0xffff, 5, 16) | v, 0x72a00000 | f(new >> 16, 5, 16) | v]
    tail += [_adr(t, -4 * (len(body2) + 1 + 2)), 0xb9000000 | t << 5 | v]
    # dc cvau, xt; dsb ish; ic ivau, xt; dsb ish; isb; or only the ISB
    # (armvm, as QEMU, drops code when a store writes its page)
    if rng.random() < 0.5:
        tail += [0xd50b7b20 | t, 0xd5033b9f, 0xd50b7520 | t, 0xd5033b9f]
    tail += [0xd5033fdf]
    back = -4 * (len(body1) + 1 + len(body2) + len(tail) + 1)
    tail += [0xf1000400 | c << 5 | c, 0x54000001 | f(back >> 2, 5, 19)]  # subs xc, xc, #1; b.ne
    return head + body1 + [slot] + body2 + tail


# ---- an exception inside the stream (at most one per case: it ends the
# case, see case_source's handler).
UNMAPPED = 0x100000  # below the ELF's 0x400000: mapped on neither side
_FAULT = {"armed": False}


def g_fault(rng):
    _FAULT["armed"] = False
    _FAULT["made"] += 1
    kind = rng.choice(["ldst", "ldst", "ldst", "align", "fetch", "udf"])
    t = rng.choice([r for r in FREE if r not in _EXCLUDED])
    set_t = 0xd2a00000 | f(UNMAPPED >> 16, 5, 16) | t  # movz xt, #UNMAPPED >> 16, lsl #16
    if kind == "udf":
        return [rng.randrange(1 << 16)]
    if kind == "fetch":  # br or blr
        return [set_t, 0xd61f0000 | f(rng.randrange(2), 21, 1) | t << 5]
    if kind == "align":  # add xt, x28, #odd; LDXR/LDAR/STLR of 2-8 bytes
        # (not STXR: without an open monitor qemu-aarch64 fails it without
        # the alignment check the ARM ARM makes first)
        size = rng.randrange(1, 4)
        off = rng.choice([o for o in range(1, 64) if o % (1 << size)])
        rt = rnd_reg(rng)
        form = rng.choice([0x08400000 | f(31, 16, 5) | f(31, 10, 5), 0x08dffc00, 0x089ffc00])
        return [0x91000000 | f(off, 10, 12) | f(28, 5, 5) | t, f(size, 30, 2) | form | t << 5 | rt]
    # (Rt never Rn: with writeback that is CONSTRAINED UNPREDICTABLE)
    rt, rt2 = [rng.choice([r for r in FREE + [31] if r != t and r not in _EXCLUDED]) for _ in range(2)]
    form = rng.choice(["uimm", "pre", "post", "pair", "q", "ld1"])
    if form == "uimm":
        size, opc = rng.randrange(4), rng.randrange(2)
        insn = f(size, 30, 2) | f(0b111001, 24, 6) | f(opc, 22, 2) | f(rng.randrange(64), 10, 12)
    elif form in ("pre", "post"):  # the writeback must not happen
        size, opc = rng.randrange(4), rng.randrange(2)
        insn = f(size, 30, 2) | f(0b111000, 24, 6) | f(opc, 22, 2) | f(rng.randrange(512), 12, 9) \
            | f(3 if form == "pre" else 1, 10, 2)
    elif form == "pair":
        load = rng.randrange(2)
        if load and rt2 == rt:
            rt2 = 31 if rt != 31 else rng.choice([r for r in FREE if r != t and r not in _EXCLUDED])
        insn = f(2, 30, 2) | f(0b101, 27, 3) | f(rng.choice([1, 2, 3]), 23, 3) | f(load, 22, 1) \
            | f(rng.randrange(64), 15, 7) | f(rt2, 10, 5)
    elif form == "q":  # LDR/STR Q
        insn = 0x3d800000 | f(rng.randrange(2), 22, 1) | f(rng.randrange(64), 10, 12)
        rt = vreg(rng)
    else:  # LD1/ST1 of 1-4 registers
        insn = 0x0c000000 | f(rng.randrange(2), 30, 1) | f(rng.randrange(2), 22, 1) \
            | f(rng.choice([0b0111, 0b1010, 0b0110, 0b0010]), 12, 4) | f(rng.randrange(4), 10, 2)
        rt = vreg(rng)
    return [set_t, insn | t << 5 | rt]


# ---- AdvSIMD (the FP/SIMD issue)
def vreg(rng):
    return rng.randrange(32)


# Loads and stores of SIMD&FP registers: B/H/S/D/Q by unsigned offset,
# unscaled/pre/post-index and register offset, pairs of S/D/Q, LD1-4/ST1-4
# of multiple structures, of single lanes and replicating, each with its
# post-index forms (immediate and register).
def g_ldst_simd(rng):
    kind = rng.choice(["uimm", "imm9", "reg", "pair", "multi", "single"])
    rt = vreg(rng)
    load = rng.randrange(2)
    if kind in ("uimm", "imm9", "reg"):
        scale = rng.randrange(5)  # B H S D Q
        size, opc = (0, 2 | load) if scale == 4 else (scale, load)
        if kind == "uimm":
            imm = rng.randrange((BUF - 16) >> scale)
            return [f(size, 30, 2) | f(0b111101, 24, 6) | f(opc, 22, 2) | f(imm, 10, 12) | f(28, 5, 5) | f(rt, 0, 5)]
        if kind == "imm9":
            mode = rng.choice([0, 1, 3])
            return [ANCHOR_X27, f(size, 30, 2) | f(0b111100, 24, 6) | f(opc, 22, 2) | f(rng.randrange(512), 12, 9)
                    | f(mode, 10, 2) | f(27, 5, 5) | f(rt, 0, 5)]
        option = rng.choice([0b010, 0b011, 0b110, 0b111])
        sbit = rng.randrange(2) if scale < 4 else 0
        return [and_x26(rng), f(size, 30, 2) | f(0b111100, 24, 6) | f(opc, 22, 2) | f(1, 21, 1) | f(26, 16, 5)
                | f(option, 13, 3) | f(sbit, 12, 1) | f(0b10, 10, 2) | f(28, 5, 5) | f(rt, 0, 5)]
    if kind == "pair":
        opc, mode = rng.randrange(3), rng.randrange(4)
        rt2 = vreg(rng)
        while load and rt2 == rt:
            rt2 = vreg(rng)
        return [ANCHOR_X27, f(opc, 30, 2) | f(0b101, 27, 3) | f(1, 26, 1) | f(mode, 23, 3) | f(load, 22, 1)
                | f(rng.randrange(128), 15, 7) | f(rt2, 10, 5) | f(27, 5, 5) | f(rt, 0, 5)]
    q, post = rng.randrange(2), rng.randrange(2)
    rm = rng.choice([31, 26]) if post else 0
    words = [ANCHOR_X27] + ([and_x26(rng)] if rm == 26 else [])
    if kind == "multi":
        opcode = rng.choice([0b0000, 0b0010, 0b0100, 0b0110, 0b0111, 0b1000, 0b1010])
        size = rng.randrange(4)
        if size == 3 and not q and opcode in (0b0000, 0b0100, 0b1000):
            size = 2
        return words + [f(q, 30, 1) | f(0b0011000 | post, 23, 7) | f(load, 22, 1) | f(rm, 16, 5) | f(opcode, 12, 4)
                        | f(size, 10, 2) | f(27, 5, 5) | f(rt, 0, 5)]
    r = rng.randrange(2)
    lane = rng.choice(["b", "h", "s", "d"] + (["rep"] if load else []))
    three_four = rng.randrange(2)  # opcode<0>: LD3/LD4 (with R)
    sbit, size = rng.randrange(2), rng.randrange(4)
    if lane == "b":
        opcode = three_four
    elif lane == "h":
        opcode, size = 0b010 | three_four, size & 2
    elif lane == "s":
        opcode, size = 0b100 | three_four, 0
    elif lane == "d":
        opcode, size, sbit = 0b100 | three_four, 1, 0
    else:
        opcode, sbit = 0b110 | three_four, 0
    return words + [f(q, 30, 1) | f(0b0011010 | post, 23, 7) | f(load, 22, 1) | f(r, 21, 1) | f(rm, 16, 5)
                    | f(opcode, 13, 3) | f(sbit, 12, 1) | f(size, 10, 2) | f(27, 5, 5) | f(rt, 0, 5)]


def g_simd_3same(rng):
    # Integer opcodes 0..0x17 with the size/Q combinations they allow.
    while True:
        q, u, size, op = rng.randrange(2), rng.randrange(2), rng.randrange(4), rng.randrange(0x18)
        if size == 3 and not q and op != 0x03:
            continue
        if size == 3 and op in (0x00, 0x02, 0x04, 0x0c, 0x0d, 0x0e, 0x0f, 0x12, 0x13, 0x14, 0x15):
            continue
        if op == 0x13 and u and size != 0 or op == 0x16 and size in (0, 3) or op == 0x17 and u:
            continue
        break
    return [f(q, 30, 1) | f(u, 29, 1) | f(0b01110, 24, 5) | f(size, 22, 2) | f(1, 21, 1) | f(vreg(rng), 16, 5)
            | f(op, 11, 5) | f(1, 10, 1) | f(vreg(rng), 5, 5) | f(vreg(rng), 0, 5)]


def g_simd_modimm(rng):
    while True:
        q, op, cmode = rng.randrange(2), rng.randrange(2), rng.randrange(16)
        if not (cmode == 15 and op == 1 and q == 0):
            break
    imm8 = rng.randrange(256)
    return [f(q, 30, 1) | f(op, 29, 1) | f(0b0111100000, 19, 10) | f(imm8 >> 5, 16, 3) | f(cmode, 12, 4)
            | f(1, 10, 1) | f(imm8 & 31, 5, 5) | f(vreg(rng), 0, 5)]


def g_simd_copy(rng):
    while True:
        q, size = rng.randrange(2), rng.randrange(4)
        imm5 = (rng.randrange(32 >> (size + 1)) << (size + 1)) | (1 << size)
        kind = rng.choice(["dup_e", "dup_g", "ins_g", "umov", "smov", "ins_e"])
        if kind in ("ins_g", "ins_e"):
            q = 1
        if kind == "dup_e" or kind == "dup_g":
            if size == 3 and not q:
                continue
            imm4, op = (0 if kind == "dup_e" else 1), 0
        elif kind == "ins_g":
            imm4, op = 3, 0
        elif kind == "umov":
            q = 1 if size == 3 else 0
            imm4, op = 7, 0
        elif kind == "smov":
            if size == 3:
                continue
            if size == 2:
                q = 1
            imm4, op = 5, 0
        else:
            imm4, op = rng.randrange(16) & ~((1 << size) - 1), 1
        rd = rnd_reg(rng) if kind in ("umov", "smov") else vreg(rng)
        rn = src(rng) if kind in ("dup_g", "ins_g") else vreg(rng)
        return [f(q, 30, 1) | f(op, 29, 1) | f(0b01110000, 21, 8) | f(imm5, 16, 5) | f(imm4, 11, 4) | f(1, 10, 1)
                | f(rn, 5, 5) | f(rd, 0, 5)]


def simd_word(q, u, fixed, rm, op, rn, rd):
    return f(q, 30, 1) | f(u, 29, 1) | fixed | f(rm, 16, 5) | f(op, 11, 5) | f(rn, 5, 5) | f(rd, 0, 5)


def g_simd_permute(rng):
    q, size = rng.randrange(2), rng.randrange(4)
    if size == 3:
        q = 1
    op = rng.choice([1, 2, 3, 5, 6, 7])
    return [f(q, 30, 1) | f(0b001110, 24, 6) | f(size, 22, 2) | f(vreg(rng), 16, 5) | f(op, 12, 3) | f(0b10, 10, 2)
            | f(vreg(rng), 5, 5) | f(vreg(rng), 0, 5)]


def g_simd_ext(rng):
    q = rng.randrange(2)
    imm4 = rng.randrange(16 if q else 8)
    return [f(q, 30, 1) | f(0b101110, 24, 6) | f(vreg(rng), 16, 5) | f(imm4, 11, 4) | f(vreg(rng), 5, 5)
            | f(vreg(rng), 0, 5)]


def g_simd_tbl(rng):
    return [f(rng.randrange(2), 30, 1) | f(0b001110, 24, 6) | f(vreg(rng), 16, 5) | f(rng.randrange(4), 13, 2)
            | f(rng.randrange(2), 12, 1) | f(vreg(rng), 5, 5) | f(vreg(rng), 0, 5)]


def g_simd_across(rng):
    if rng.random() < 0.25:  # FMAXNMV, FMAXV, FMINNMV, FMINV of four singles
        return [f(1, 30, 1) | f(1, 29, 1) | f(0b01110, 24, 5) | f(rng.randrange(2), 23, 1) | f(0b11000, 17, 5)
                | f(rng.choice([0x0c, 0x0f]), 12, 5) | f(0b10, 10, 2) | f(vreg(rng), 5, 5) | f(vreg(rng), 0, 5)]
    while True:
        q, u, size = rng.randrange(2), rng.randrange(2), rng.randrange(3)
        op = rng.choice([0x03, 0x0a, 0x1a, 0x1b])
        if (size == 2 and not q) or (op == 0x1b and u):
            continue
        return [f(q, 30, 1) | f(u, 29, 1) | f(0b01110, 24, 5) | f(size, 22, 2) | f(0b11000, 17, 5) | f(op, 12, 5)
                | f(0b10, 10, 2) | f(vreg(rng), 5, 5) | f(vreg(rng), 0, 5)]


def g_simd_shift_imm(rng):
    while True:
        q, u, hsb = rng.randrange(2), rng.randrange(2), rng.randrange(4)
        op = rng.choice([0x00, 0x02, 0x04, 0x06, 0x08, 0x0a, 0x0c, 0x0e, 0x10, 0x11, 0x12, 0x13, 0x14, 0x1c, 0x1f])
        if op in (0x08, 0x0c) and not u:
            continue
        if op in (0x1c, 0x1f) and hsb < 2:  # fixed point: single and double only
            continue
        narrow_or_widen = op >= 0x10
        if narrow_or_widen and hsb == 3 or not narrow_or_widen and hsb == 3 and not q:
            continue
        immh = (1 << hsb) | rng.randrange(1 << hsb)
        word = (f(q, 30, 1) | f(u, 29, 1) | f(0b011110, 23, 6) | f(immh, 19, 4) | f(rng.randrange(8), 16, 3)
                | f(op, 11, 5) | f(1, 10, 1) | f(vreg(rng), 5, 5) | f(vreg(rng), 0, 5))
        return [word]


def g_simd_2misc(rng):
    # (code = U:opcode) -> the sizes it allows (and whether Q=0 with size 3 is out)
    allowed = {0x00: [0, 1, 2], 0x20: [0, 1], 0x01: [0], 0x02: [0, 1, 2], 0x22: [0, 1, 2], 0x06: [0, 1, 2],
               0x26: [0, 1, 2], 0x03: [0, 1, 2, 3], 0x23: [0, 1, 2, 3], 0x07: [0, 1, 2, 3], 0x27: [0, 1, 2, 3],
               0x08: [0, 1, 2, 3], 0x28: [0, 1, 2, 3], 0x09: [0, 1, 2, 3], 0x29: [0, 1, 2, 3],
               0x0a: [0, 1, 2, 3], 0x0b: [0, 1, 2, 3], 0x2b: [0, 1, 2, 3], 0x04: [0, 1, 2], 0x24: [0, 1, 2],
               0x05: [0], 0x25: [0, 1], 0x12: [0, 1, 2], 0x14: [0, 1, 2], 0x32: [0, 1, 2], 0x34: [0, 1, 2],
               0x33: [0, 1, 2]}
    code = rng.choice(list(allowed))
    size = rng.choice(allowed[code])
    q = rng.randrange(2)
    if size == 3:
        q = 1
    return [f(q, 30, 1) | f(code >> 5, 29, 1) | f(0b01110, 24, 5) | f(size, 22, 2) | f(0b10000, 17, 5)
            | f(code & 31, 12, 5) | f(0b10, 10, 2) | f(vreg(rng), 5, 5) | f(vreg(rng), 0, 5)]


def g_simd_3diff(rng):
    while True:
        q, u, size, op = rng.randrange(2), rng.randrange(2), rng.randrange(3), rng.randrange(15)
        sqd = op in (0x9, 0xb, 0xd)
        if sqd and (u or size == 0) or op == 0xe and (u or size != 0):
            continue
        return [f(q, 30, 1) | f(u, 29, 1) | f(0b01110, 24, 5) | f(size, 22, 2) | f(1, 21, 1) | f(vreg(rng), 16, 5)
                | f(op, 12, 4) | f(vreg(rng), 5, 5) | f(vreg(rng), 0, 5)]


def g_simd_scalar(rng):
    kind = rng.choice(["3same", "2misc", "shift", "addp", "copy", "fp3"])
    u, rd, rn, rm = rng.randrange(2), vreg(rng), vreg(rng), vreg(rng)
    if kind == "3same":
        op = rng.choice([0x01, 0x05, 0x09, 0x0b, 0x06, 0x07, 0x08, 0x0a, 0x10, 0x11, 0x16])
        size = rng.randrange(4) if op in (0x01, 0x05, 0x09, 0x0b) else (rng.choice([1, 2]) if op == 0x16 else 3)
        return [f(1, 30, 1) | f(u, 29, 1) | f(0b11110, 24, 5) | f(size, 22, 2) | f(1, 21, 1) | f(rm, 16, 5)
                | f(op, 11, 5) | f(1, 10, 1) | f(rn, 5, 5) | f(rd, 0, 5)]
    if kind == "fp3":
        key = rng.choice([0x03, 0x04, 0x07, 0x0f, 0x14, 0x15, 0x1a, 0x1c, 0x1d])
        return [f(1, 30, 1) | f(key >> 4, 29, 1) | f(0b11110, 24, 5) | f((key >> 3) & 1, 23, 1)
                | f(rng.randrange(2), 22, 1) | f(1, 21, 1) | f(rm, 16, 5) | f(0b11, 14, 2) | f(key & 7, 11, 3)
                | f(1, 10, 1) | f(rn, 5, 5) | f(rd, 0, 5)]
    if kind == "2misc":
        code = rng.choice([0x03, 0x23, 0x07, 0x27, 0x08, 0x28, 0x09, 0x29, 0x0a, 0x0b, 0x2b, 0x14, 0x34, 0x32])
        size = rng.randrange(4) if code in (0x03, 0x23, 0x07, 0x27) else (
            rng.randrange(3) if code in (0x14, 0x34, 0x32) else 3)
        return [f(1, 30, 1) | f(code >> 5, 29, 1) | f(0b11110, 24, 5) | f(size, 22, 2) | f(0b10000, 17, 5)
                | f(code & 31, 12, 5) | f(0b10, 10, 2) | f(rn, 5, 5) | f(rd, 0, 5)]
    if kind == "shift":
        while True:
            op = rng.choice([0x00, 0x02, 0x04, 0x06, 0x08, 0x0a, 0x0c, 0x0e, 0x10, 0x11, 0x12, 0x13, 0x1c, 0x1f])
            if op in (0x08, 0x0c, 0x10, 0x11) and not u:
                continue
            break
        hsb = 3 if op <= 0x0a else (rng.randrange(4) if op in (0x0c, 0x0e) else
                                    (rng.choice([2, 3]) if op in (0x1c, 0x1f) else rng.randrange(3)))
        immh = (1 << hsb) | rng.randrange(1 << hsb)
        return [f(1, 30, 1) | f(u, 29, 1) | f(0b111110, 23, 6) | f(immh, 19, 4) | f(rng.randrange(8), 16, 3)
                | f(op, 11, 5) | f(1, 10, 1) | f(rn, 5, 5) | f(rd, 0, 5)]
    if kind == "addp":
        return [f(1, 30, 1) | f(0b11110, 24, 5) | f(3, 22, 2) | f(0b11000, 17, 5) | f(0x1b, 12, 5) | f(0b10, 10, 2)
                | f(rn, 5, 5) | f(rd, 0, 5)]
    size = rng.randrange(4)
    imm5 = (rng.randrange(16 >> size) << (size + 1)) | (1 << size)
    return [f(1, 30, 1) | f(0b11110000, 21, 8) | f(imm5, 16, 5) | f(1, 10, 1) | f(rn, 5, 5) | f(rd, 0, 5)]


# ---- scalar floating point, single and double (t = 3: half precision,
# FEAT_FP16's, g_fp16)
def g_fp(rng, t=None):
    kind = rng.choice(["2src", "1src", "3src", "cmp", "ccmp", "csel", "imm", "toint", "fromint", "fmovgen"])
    half = t == 3
    if t is None:
        t = rng.randrange(2)
    if kind == "fmovgen":  # FMOV between general and SIMD&FP registers (W/S, X/D, X/V.D[1]; W/X and H), either way
        sf, typ, rmode = rng.choice([(0, 3, 0), (1, 3, 0)] if half else [(0, 0, 0), (1, 1, 0), (1, 2, 1)])
        to_fp = rng.randrange(2)
        return [f(sf, 31, 1) | f(0b0011110, 24, 7) | f(typ, 22, 2) | f(1, 21, 1) | f(rmode, 19, 2)
                | f(7 if to_fp else 6, 16, 3) | f(src(rng) if to_fp else vreg(rng), 5, 5)
                | f(vreg(rng) if to_fp else rnd_reg(rng), 0, 5)]
    rd, rn, rm = vreg(rng), vreg(rng), vreg(rng)
    base = f(0b00011110, 24, 8) | f(t, 22, 2)
    if kind == "2src":
        return [base | f(1, 21, 1) | f(rm, 16, 5) | f(rng.randrange(9), 12, 4) | f(0b10, 10, 2) | f(rn, 5, 5) | f(rd, 0, 5)]
    if kind == "1src" and half:
        op = rng.choice([0, 1, 2, 3, 8, 9, 10, 11, 12, 14, 15, 4, 5])
        return [base | f(1, 21, 1) | f(op, 15, 6) | f(0b10000, 10, 5) | f(rn, 5, 5) | f(rd, 0, 5)]
    if kind == "1src":
        if rng.random() < 0.2:  # FCVT with half precision, either way
            if rng.randrange(2):
                return [f(0b00011110, 24, 8) | f(3, 22, 2) | f(1, 21, 1) | f(rng.choice([4, 5]), 15, 6)
                        | f(0b10000, 10, 5) | f(rn, 5, 5) | f(rd, 0, 5)]
            return [base | f(1, 21, 1) | f(7, 15, 6) | f(0b10000, 10, 5) | f(rn, 5, 5) | f(rd, 0, 5)]
        op = rng.choice([0, 1, 2, 3, 8, 9, 10, 11, 12, 14, 15, 4 if t else 5])
        return [base | f(1, 21, 1) | f(op, 15, 6) | f(0b10000, 10, 5) | f(rn, 5, 5) | f(rd, 0, 5)]
    if kind == "3src":
        return [f(0b00011111, 24, 8) | f(t, 22, 2) | f(rng.randrange(2), 21, 1) | f(rm, 16, 5)
                | f(rng.randrange(2), 15, 1) | f(vreg(rng), 10, 5) | f(rn, 5, 5) | f(rd, 0, 5)]
    if kind == "cmp":
        op2 = rng.choice([0, 8, 16, 24])
        return [base | f(1, 21, 1) | f(0 if op2 & 8 else rm, 16, 5) | f(0b001000, 10, 6) | f(rn, 5, 5) | f(op2, 0, 5)]
    if kind == "ccmp":
        return [base | f(1, 21, 1) | f(rm, 16, 5) | f(rng.randrange(16), 12, 4) | f(0b01, 10, 2) | f(rn, 5, 5)
                | f(rng.randrange(2), 4, 1) | f(rng.randrange(16), 0, 4)]
    if kind == "csel":
        return [base | f(1, 21, 1) | f(rm, 16, 5) | f(rng.randrange(16), 12, 4) | f(0b11, 10, 2) | f(rn, 5, 5) | f(rd, 0, 5)]
    if kind == "imm":
        return [base | f(1, 21, 1) | f(rng.randrange(256), 13, 8) | f(0b100, 10, 3) | f(rd, 0, 5)]
    sf = rng.randrange(2)
    if rng.random() < 0.3:  # fixed point: SCVTF/UCVTF/FCVTZS/FCVTZU with fbits
        scale = rng.randrange(32 if not sf else 1, 64) if sf else rng.randrange(32, 64)
        key = rng.choice([0x02, 0x03, 0x18, 0x19])
        to_int = key >= 0x18
        return [f(sf, 31, 1) | base | f(key >> 3, 19, 2) | f(key & 7, 16, 3) | f(scale, 10, 6)
                | f(rn if to_int else src(rng), 5, 5) | f(rnd_reg(rng) if to_int else rd, 0, 5)]
    if kind == "fromint":
        return [f(sf, 31, 1) | base | f(1, 21, 1) | f(rng.choice([2, 3]), 16, 3) | f(src(rng), 5, 5) | f(rd, 0, 5)]
    op = rng.randrange(6)
    rmode = rng.randrange(4) if op < 2 else 0
    return [f(sf, 31, 1) | base | f(1, 21, 1) | f(rmode, 19, 2) | f(op, 16, 3) | f(rn, 5, 5) | f(rnd_reg(rng), 0, 5)]


def g_fp16(rng):
    """Scalar half precision (FEAT_FP16): g_fp's forms with type 3."""
    return g_fp(rng, 3)


FP16_3SAME = [0x0, 0x8, 0x1, 0x9, 0x2, 0xa, 0x3, 0x7, 0xf, 0x4, 0x6, 0xe, 0x13, 0x14, 0x15, 0x17, 0x1a,
              0x1c, 0x1d, 0x10, 0x18, 0x12, 0x16, 0x1e]
FP16_2MISC = [0x2c, 0x2d, 0x2e, 0x6c, 0x6d, 0x2f, 0x6f, 0x7f, 0x18, 0x19, 0x38, 0x39, 0x58, 0x59, 0x79,
              0x1a, 0x5a, 0x1b, 0x5b, 0x1c, 0x5c, 0x3a, 0x7a, 0x3b, 0x7b, 0x1d, 0x5d, 0x3d, 0x7d]


def g_simd_fp16(rng):
    """AdvSIMD half precision (FEAT_FP16): three same, two-register misc
    (vector and scalar), across lanes, scalar pairwise, by element (vector
    and scalar), FMOV (vector, immediate), fixed-point conversions (vector
    and scalar), FCMLA/FCADD; and FMAXNMV/FMAXV/FMINNMV/FMINV of singles
    (Armv8.0's)."""
    kind = rng.choice(["3same", "3same", "s3same", "2misc", "2misc", "s2misc", "across", "pair", "elem", "selem",
                       "fmov", "fixed", "sfixed", "fcma", "fcma_elem"])
    q, rd, rn, rm = rng.randrange(2), vreg(rng), vreg(rng), vreg(rng)
    if kind in ("3same", "s3same"):
        key = rng.choice(FP16_3SAME if kind == "3same" else [0x03, 0x04, 0x07, 0x0f, 0x14, 0x15, 0x1a, 0x1c, 0x1d])
        top = f(q, 30, 1) | f(0b01110, 24, 5) if kind == "3same" else f(1, 30, 1) | f(0b11110, 24, 5)
        return [top | f(key >> 4, 29, 1) | f((key >> 3) & 1, 23, 1) | f(1, 22, 1) | f(rm, 16, 5)
                | f(key & 7, 11, 3) | f(1, 10, 1) | f(rn, 5, 5) | f(rd, 0, 5)]
    if kind in ("2misc", "s2misc"):
        if kind == "2misc":
            key = rng.choice(FP16_2MISC)
            top = f(q, 30, 1) | f(0b01110, 24, 5)
        else:
            key = rng.choice([0x2c, 0x2d, 0x2e, 0x6c, 0x6d, 0x1a, 0x5a, 0x1b, 0x5b, 0x1c, 0x5c, 0x3a, 0x7a, 0x3b,
                              0x7b, 0x1d, 0x5d, 0x3d, 0x7d, 0x3f])
            top = f(1, 30, 1) | f(0b11110, 24, 5)
        return [top | f(key >> 6, 29, 1) | f((key >> 5) & 1, 23, 1) | f(0b111100, 17, 6) | f(key & 31, 12, 5)
                | f(0b10, 10, 2) | f(rn, 5, 5) | f(rd, 0, 5)]
    if kind == "across":
        single = rng.randrange(2)
        return [f(1 if single else q, 30, 1) | f(single, 29, 1) | f(0b01110, 24, 5) | f(rng.randrange(2), 23, 1)
                | f(0b11000, 17, 5) | f(rng.choice([0x0c, 0x0f]), 12, 5) | f(0b10, 10, 2) | f(rn, 5, 5) | f(rd, 0, 5)]
    if kind == "pair":
        key = rng.choice([0x0c, 0x2c, 0x0d, 0x0f, 0x2f])
        return [f(1, 30, 1) | f(0b11110, 24, 5) | f(key >> 5, 23, 1) | f(0b11000, 17, 5) | f(key & 31, 12, 5)
                | f(0b10, 10, 2) | f(rn, 5, 5) | f(rd, 0, 5)]
    if kind in ("elem", "selem"):
        code = rng.choice([0x01, 0x05, 0x09, 0x19])  # FMLA, FMLS, FMUL, FMULX
        top = f(q, 30, 1) | f(0b01111, 24, 5) if kind == "elem" else f(1, 30, 1) | f(0b11111, 24, 5)
        return [top | f(code >> 4, 29, 1) | f(rng.randrange(2), 21, 1) | f(rng.randrange(2), 20, 1)
                | f(rng.randrange(16), 16, 4) | f(code & 15, 12, 4) | f(rng.randrange(2), 11, 1) | f(rn, 5, 5)
                | f(rd, 0, 5)]
    if kind == "fmov":
        imm = rng.randrange(256)
        return [f(q, 30, 1) | f(0b0111100000, 19, 10) | f(imm >> 5, 16, 3) | f(0b111111, 10, 6) | f(imm & 31, 5, 5)
                | f(rd, 0, 5)]
    if kind in ("fixed", "sfixed"):
        top = f(q, 30, 1) | f(0b011110, 23, 6) if kind == "fixed" else f(1, 30, 1) | f(0b111110, 23, 6)
        u, op = rng.randrange(2), rng.choice([0x1c, 0x1f])
        if kind == "sfixed" and op == 0x1f:
            u = 1  # (FCVTZS Hd, Hn, #fbits: QEMU 7.2 sign-extends the result into bits 31:16, a bug fixed in 9.1)
        return [top | f(u, 29, 1) | f(0b001, 20, 3) | f(rng.randrange(16), 16, 4)
                | f(op, 11, 5) | f(1, 10, 1) | f(rn, 5, 5) | f(rd, 0, 5)]
    if kind == "fcma":
        return [f(q, 30, 1) | f(1, 29, 1) | f(0b01110, 24, 5) | f(1, 22, 2) | f(rm, 16, 5) | f(1, 15, 1)
                | f(rng.choice([8, 9, 10, 11, 12, 14]), 11, 4) | f(1, 10, 1) | f(rn, 5, 5) | f(rd, 0, 5)]
    h = 0 if not q else rng.randrange(2)
    return [f(q, 30, 1) | f(1, 29, 1) | f(0b01111, 24, 5) | f(1, 22, 2) | f(rng.randrange(2), 21, 1)
            | f(rm, 16, 5) | f(rng.choice([1, 3, 5, 7]), 12, 4) | f(h, 11, 1) | f(rn, 5, 5) | f(rd, 0, 5)]


def g_fhm(rng):
    """FMLAL, FMLSL, FMLAL2, FMLSL2 (FEAT_FHM), vector and by element."""
    q, u, sub = rng.randrange(2), rng.randrange(2), rng.randrange(2)
    rd, rn = vreg(rng), vreg(rng)
    if rng.randrange(2):
        return [f(q, 30, 1) | f(u, 29, 1) | f(0b01110, 24, 5) | f(sub, 23, 1) | f(1, 21, 1) | f(vreg(rng), 16, 5)
                | f(0x19 if u else 0x1d, 11, 5) | f(1, 10, 1) | f(rn, 5, 5) | f(rd, 0, 5)]
    return [f(q, 30, 1) | f(u, 29, 1) | f(0b01111, 24, 5) | f(2, 22, 2) | f(rng.randrange(2), 21, 1)
            | f(rng.randrange(2), 20, 1) | f(rng.randrange(16), 16, 4) | f((u << 3) | (sub << 2), 12, 4)
            | f(rng.randrange(2), 11, 1) | f(rn, 5, 5) | f(rd, 0, 5)]


def g_simd_fp3(rng):
    key = rng.choice([0x0, 0x8, 0x1, 0x9, 0x2, 0xa, 0x3, 0x7, 0xf, 0x4, 0x6, 0xe, 0x13, 0x14, 0x15, 0x17, 0x1a,
                      0x1c, 0x1d, 0x10, 0x18, 0x12, 0x16, 0x1e])
    sz = rng.randrange(2)
    q = 1 if sz else rng.randrange(2)
    return [f(q, 30, 1) | f(key >> 4, 29, 1) | f(0b01110, 24, 5) | f((key >> 3) & 1, 23, 1) | f(sz, 22, 1)
            | f(1, 21, 1) | f(vreg(rng), 16, 5) | f(0b11, 14, 2) | f(key & 7, 11, 3) | f(1, 10, 1)
            | f(vreg(rng), 5, 5) | f(vreg(rng), 0, 5)]


def g_simd_fp2(rng):
    key = rng.choice([0x2c, 0x2d, 0x2e, 0x6c, 0x6d, 0x2f, 0x6f, 0x7f, 0x18, 0x19, 0x38, 0x39, 0x58, 0x59, 0x79,
                      0x1a, 0x5a, 0x1b, 0x5b, 0x1c, 0x5c, 0x3a, 0x7a, 0x3b, 0x7b, 0x1d, 0x5d, 0x17, 0x16,
                      0x3d, 0x7d, 0x3c, 0x7c, 0x56])
    if key in (0x16, 0x17):
        sz, q = rng.randrange(2), rng.randrange(2)
    elif key == 0x56:  # FCVTXN(2): doubles only
        sz, q = 1, rng.randrange(2)
    elif key in (0x3c, 0x7c):  # URECPE, URSQRTE: 32-bit lanes only
        sz, q = 0, rng.randrange(2)
    else:
        sz = rng.randrange(2)
        q = 1 if sz else rng.randrange(2)
    return [f(q, 30, 1) | f(key >> 6, 29, 1) | f(0b01110, 24, 5) | f((key >> 5) & 1, 23, 1) | f(sz, 22, 1)
            | f(0b10000, 17, 5) | f(key & 31, 12, 5) | f(0b10, 10, 2) | f(vreg(rng), 5, 5) | f(vreg(rng), 0, 5)]


def g_crc32(rng):
    sz, c = rng.randrange(4), rng.randrange(2)
    return [f(1 if sz == 3 else 0, 31, 1) | f(0b0011010110, 21, 10) | f(src(rng), 16, 5) | f(0b010, 13, 3) | f(c, 12, 1)
            | f(sz, 10, 2) | f(src(rng), 5, 5) | f(rnd_reg(rng), 0, 5)]


def g_simd_elem(rng):
    while True:
        u, op = rng.randrange(2), rng.randrange(16)
        code = (u << 4) | op
        if code not in (0x08, 0x10, 0x14, 0x0c, 0x0d, 0x01, 0x05, 0x09, 0x19, 0x02, 0x12, 0x06, 0x16, 0x0a,
                        0x1a, 0x03, 0x07, 0x0b):
            continue
        fp = code in (0x01, 0x05, 0x09, 0x19)
        q = rng.randrange(2)
        if fp:
            size = rng.choice([2, 3])
            if size == 3:
                q = 1
            l = 0 if size == 3 else rng.randrange(2)
        else:
            size = rng.choice([1, 2])
            l = rng.randrange(2)
        m = rng.randrange(2)
        return [f(q, 30, 1) | f(u, 29, 1) | f(0b01111, 24, 5) | f(size, 22, 2) | f(l, 21, 1) | f(m, 20, 1)
                | f(rng.randrange(16), 16, 4) | f(op, 12, 4) | f(rng.randrange(2), 11, 1) | f(vreg(rng), 5, 5)
                | f(vreg(rng), 0, 5)]


# AdvSIMD scalar FP two-register misc, FP pairwise, by element (FP and
# integer) and three different.
def g_simd_scalar_more(rng):
    kind = rng.choice(["fp2", "fp2", "pair", "elem", "3diff"])
    rd, rn = vreg(rng), vreg(rng)
    if kind == "fp2":
        key = rng.choice([0x1a, 0x1b, 0x1c, 0x1d, 0x2c, 0x2d, 0x2e, 0x3a, 0x3b, 0x3d, 0x3f,
                          0x5a, 0x5b, 0x5c, 0x5d, 0x56, 0x6c, 0x6d, 0x7a, 0x7b, 0x7d])
        sz = 1 if key == 0x56 else rng.randrange(2)
        return [f(1, 30, 1) | f(key >> 6, 29, 1) | f(0b11110, 24, 5) | f((key >> 5) & 1, 23, 1) | f(sz, 22, 1)
                | f(0b10000, 17, 5) | f(key & 31, 12, 5) | f(0b10, 10, 2) | f(rn, 5, 5) | f(rd, 0, 5)]
    if kind == "pair":
        key = rng.choice([0x0c, 0x2c, 0x0d, 0x0f, 0x2f])
        return [f(1, 30, 1) | f(1, 29, 1) | f(0b11110, 24, 5) | f(key >> 5, 23, 1) | f(rng.randrange(2), 22, 1)
                | f(0b11000, 17, 5) | f(key & 31, 12, 5) | f(0b10, 10, 2) | f(rn, 5, 5) | f(rd, 0, 5)]
    if kind == "3diff":
        return [f(1, 30, 1) | f(0b11110, 24, 5) | f(rng.choice([1, 2]), 22, 2) | f(1, 21, 1) | f(vreg(rng), 16, 5)
                | f(rng.choice([0x9, 0xb, 0xd]), 12, 4) | f(rn, 5, 5) | f(rd, 0, 5)]
    code = rng.choice([0x01, 0x05, 0x09, 0x19, 0x03, 0x07, 0x0b, 0x0c, 0x0d])
    if code in (0x01, 0x05, 0x09, 0x19):
        size = rng.choice([2, 3])
        l = 0 if size == 3 else rng.randrange(2)
    else:
        size, l = rng.choice([1, 2]), rng.randrange(2)
    return [f(1, 30, 1) | f(code >> 4, 29, 1) | f(0b11111, 24, 5) | f(size, 22, 2) | f(l, 21, 1)
            | f(rng.randrange(2), 20, 1) | f(rng.randrange(16), 16, 4) | f(code & 15, 12, 4)
            | f(rng.randrange(2), 11, 1) | f(rn, 5, 5) | f(rd, 0, 5)]


# The crypto extension: AES, SHA1, SHA256 and PMULL(2) of 64-bit lanes.
def g_crypto(rng):
    kind = rng.choice(["aes", "sha3", "sha2", "pmull"])
    rd, rn, rm = vreg(rng), vreg(rng), vreg(rng)
    if kind == "aes":
        return [0x4e284800 | f(rng.randrange(4, 8), 12, 5) | f(rn, 5, 5) | f(rd, 0, 5)]
    if kind == "sha3":
        return [0x5e000000 | f(rm, 16, 5) | f(rng.randrange(7), 12, 3) | f(rn, 5, 5) | f(rd, 0, 5)]
    if kind == "sha2":
        return [0x5e280800 | f(rng.randrange(3), 12, 5) | f(rn, 5, 5) | f(rd, 0, 5)]
    return [f(rng.randrange(2), 30, 1) | 0x0ee0e000 | f(rm, 16, 5) | f(rn, 5, 5) | f(rd, 0, 5)]


# ---- the later features of -cpu max (issue 20): MAX_GROUPS, only with
# --cpu max.
def g_flagm(rng):
    # CFINV, XAFLAG, AXFLAG, RMIF, SETF8/16 (FEAT_FlagM, FlagM2); SB;
    # PSTATE.DIT and SSBS (MSR immediate, MSR and MRS of the registers)
    kind = rng.choice(["cfinv", "xaflag", "axflag", "rmif", "setf", "sb", "pstate"])
    if kind == "pstate":
        op2 = rng.choice([1, 2])  # SSBS, DIT
        form = rng.randrange(3)
        if form == 0:
            return [0xd503401f | f(rng.randrange(2), 8, 4) | f(op2, 5, 3)]
        return [(0xd53b4200 if form == 1 else 0xd51b4200) | f(6 if op2 == 1 else 5, 5, 3)
                | f(rnd_reg(rng) if form == 1 else src(rng), 0, 5)]
    if kind in ("cfinv", "xaflag", "axflag"):
        return [0xd500401f | f(["cfinv", "xaflag", "axflag"].index(kind), 5, 3)]
    if kind == "rmif":
        return [f(0b10111010000, 21, 11) | f(rng.randrange(64), 15, 6) | f(0b00001, 10, 5) | f(src(rng), 5, 5)
                | f(rng.randrange(16), 0, 4)]
    if kind == "setf":
        return [f(0b00111010000, 21, 11) | f(rng.randrange(2), 14, 1) | f(0b0010, 10, 4) | f(src(rng), 5, 5)
                | f(0b01101, 0, 5)]
    return [0xd50330ff]


def g_lrcpc(rng):
    # LDAPR (FEAT_LRCPC), LDLAR and STLLR (FEAT_LOR) at the buffer's start;
    # LDAPUR*/STLUR* (LRCPC2) around its middle, aligned 99% of the time
    size = rng.randrange(4)
    if rng.random() < 0.3:
        return [f(size, 30, 2) | f(0b111000101111111100, 12, 18) | f(28, 5, 5) | f(rnd_reg(rng), 0, 5)]
    if rng.random() < 0.2:  # LDLAR, STLLR (FEAT_LOR)
        load = rng.randrange(2)
        return [f(size, 30, 2) | f(0b001000, 24, 6) | f(1, 23, 1) | f(load, 22, 1) | f(31, 16, 5) | f(31, 10, 5)
                | f(28, 5, 5) | f(ld_rt(rng, load), 0, 5)]
    opc = rng.choice([0, 1] + ([2] if size < 3 else []) + ([3] if size < 2 else []))
    imm9 = rng.randrange(-256 >> size, 256 >> size) << size if rng.random() < 0.99 else rng.randrange(-256, 256)
    return [ANCHOR_X27, f(size, 30, 2) | f(0b011001, 24, 6) | f(opc, 22, 2) | f(imm9 & 0x1ff, 12, 9) | f(27, 5, 5)
            | f(ld_rt(rng, opc != 0), 0, 5)]


def g_pauth(rng):
    """Pointer authentication (FEAT_PAuth) in sequences whose results do
    not depend on the keys (qemu-aarch64's are random): a PAC then the AUT
    with the same key and modifier (the pointer back, or the error code of
    a pointer with bad extension bits), a PAC then XPAC, the hint-space
    pairs (PACIASP/AUTIASP, ...1716, ...Z), the combined branches to a
    signed label, LDRAA/LDRAB through a signed buffer pointer; a register
    left holding a PAC is cleared. A pointer first gets its top byte made
    the extension of bit 55: an upper-half pointer (no TBI) with bit 63
    clear would come out of AddPAC in the lower half, whose AUT then keeps
    PAC bits (the architecture's result, but a key-dependent one)."""
    kind = rng.choice(["pair", "pair", "xpac", "hint", "branch", "ldra"])
    rd = rnd_reg(rng, allow_zr=False)
    rn = rng.choice([r for r in FREE + [31] if r != rd])  # (31: SP, or XZR for the Z forms)
    key = rng.randrange(4)  # IA, IB, DA, DB
    clear = 0xd2800000 | rd  # mov xd, #0

    def canon(r):  # lsl xr, xr, #8; asr xr, xr, #8
        return [0xd378dc00 | f(r, 5, 5) | r, 0x9348fc00 | f(r, 5, 5) | r]
    if kind in ("pair", "xpac"):
        z = rng.random() < 0.3
        pac = 0xdac10000 | f((8 if z else 0) + key, 10, 6) | f(31 if z else rn, 5, 5) | rd
        if kind == "xpac":
            return canon(rd) + [pac, 0xdac143e0 | f(1 if key >= 2 else 0, 10, 1) | rd]  # XPACI (XPACD: D keys)
        return canon(rd) + [pac, 0xdac10000 | f((12 if z else 4) + key, 10, 6) | f(31 if z else rn, 5, 5) | rd]
    if kind == "hint" and 30 not in _EXCLUDED and 17 not in _EXCLUDED:
        op = rng.choice([24, 25, 26, 27, 8, 10])  # PACIAZ, PACIASP, PACIBZ, PACIBSP, PACIA1716, PACIB1716
        words = canon(30 if op >= 24 else 17) + [0xd503201f | f(op, 5, 7), 0xd503201f | f(op + 4, 5, 7)]  # its AUT
        if op >= 24 and rng.random() < 0.3:
            words[3] = 0xd50320ff  # XPACLRI
        return words
    if kind == "branch":
        # adr xd, L; PAC xd with xn (or SP, or 0); BRA/BLRA xd, xn; (skipped); L: mov xd, #0
        link, zero = rng.randrange(2) if 30 not in _EXCLUDED else 0, rng.random() < 0.3
        k = key & 1
        mod = 31 if zero else rn
        pac = 0xdac10000 | f((8 if zero else 0) + k, 10, 6) | f(mod, 5, 5) | rd
        br = 0xd61f0800 | f(8 * (not zero) + link, 21, 4) | f(k, 10, 1) | f(rd, 5, 5) | f(31 if zero else rn, 0, 5)
        return [0x10000080 | rd, pac, br, 0xd503201f, clear]  # (adr xd, #16: the mov)
    # LDRAA/LDRAB: xd = buf + 8 * a few, signed with the data key and modifier 0 (PACDZA/PACDZB)
    db, w = rng.randrange(2), rng.randrange(2)
    t = rnd_reg(rng)
    if w and t == rd:  # (a written-back base loaded into: CONSTRAINED UNPREDICTABLE)
        w = 0
    off = rng.randrange(-16, 16) & 0x3ff  # (S:imm9, in doublewords)
    words = [0x91000000 | f(8 * rng.randrange(64), 10, 12) | f(28, 5, 5) | rd,
             0xdac10000 | f(10 + db, 10, 6) | f(31, 5, 5) | rd,
             0xf8200400 | f(db, 23, 1) | f(off >> 9, 22, 1) | f(off & 0x1ff, 12, 9) | f(w, 11, 1) | f(rd, 5, 5) | t]
    return words + ([] if w or t == rd else [clear])


def g_simd_dot(rng):
    # Three-same extra: SQRDMLAH/SQRDMLSH (FEAT_RDM), SDOT/UDOT (DotProd),
    # USDOT, SMMLA/UMMLA/USMMLA (I8MM); the by-element and scalar forms
    kind = rng.choice(["vec", "vec", "scalar", "elem", "elem", "selem"])
    rd, rn, rm = vreg(rng), vreg(rng), vreg(rng)
    q = rng.randrange(2)
    if kind == "vec":
        u, op, size = rng.choice([(1, 0, 1), (1, 0, 2), (1, 1, 1), (1, 1, 2), (0, 2, 2), (1, 2, 2), (0, 3, 2),
                                  (0, 4, 2), (1, 4, 2), (0, 5, 2)])
        if op >= 4:
            q = 1
        return [f(q, 30, 1) | f(u, 29, 1) | f(0b01110, 24, 5) | f(size, 22, 2) | f(rm, 16, 5) | f(1, 15, 1)
                | f(op, 11, 4) | f(1, 10, 1) | f(rn, 5, 5) | f(rd, 0, 5)]
    if kind == "scalar":
        return [f(0b01111110, 24, 8) | f(rng.choice([1, 2]), 22, 2) | f(rm, 16, 5) | f(1, 15, 1)
                | f(rng.randrange(2), 11, 4) | f(1, 10, 1) | f(rn, 5, 5) | f(rd, 0, 5)]
    if kind == "elem":
        u, op, size = rng.choice([(1, 0xd, 1), (1, 0xd, 2), (1, 0xf, 1), (1, 0xf, 2), (0, 0xe, 2), (1, 0xe, 2),
                                  (0, 0xf, 0), (0, 0xf, 2)])
        return [f(q, 30, 1) | f(u, 29, 1) | f(0b01111, 24, 5) | f(size, 22, 2) | f(rng.randrange(2), 21, 1)
                | f(rng.randrange(2), 20, 1) | f(rng.randrange(16), 16, 4) | f(op, 12, 4)
                | f(rng.randrange(2), 11, 1) | f(rn, 5, 5) | f(rd, 0, 5)]
    return [f(0b01111111, 24, 8) | f(rng.choice([1, 2]), 22, 2) | f(rng.randrange(2), 21, 1)
            | f(rng.randrange(2), 20, 1) | f(rng.randrange(16), 16, 4) | f(rng.choice([0xd, 0xf]), 12, 4)
            | f(rng.randrange(2), 11, 1) | f(rn, 5, 5) | f(rd, 0, 5)]


def g_crypto_v82(rng):
    # SHA512H/H2/SU0/SU1 (FEAT_SHA512), EOR3, BCAX, RAX1, XAR (FEAT_SHA3),
    # SM3SS1, SM3TT1A/1B/2A/2B, SM3PARTW1/2 (FEAT_SM3), SM4E, SM4EKEY (FEAT_SM4)
    kind = rng.choice(["4reg", "3reg", "xar", "su0", "sm3tt", "sm3tt"])
    rd, rn, rm = vreg(rng), vreg(rng), vreg(rng)
    if kind == "4reg":
        return [f(0b110011100, 23, 9) | f(rng.randrange(3), 21, 2) | f(rm, 16, 5) | f(vreg(rng), 10, 5)
                | f(rn, 5, 5) | f(rd, 0, 5)]
    if kind == "3reg":
        o = rng.randrange(2)  # (bit 14: SM3PARTW1/2, SM4EKEY)
        return [f(0b11001110011, 21, 11) | f(rm, 16, 5) | f(1, 15, 1) | f(o, 14, 1) | f(rng.randrange(3 if o else 4), 10, 2)
                | f(rn, 5, 5) | f(rd, 0, 5)]
    if kind == "xar":
        return [f(0b11001110100, 21, 11) | f(rm, 16, 5) | f(rng.randrange(64), 10, 6) | f(rn, 5, 5) | f(rd, 0, 5)]
    if kind == "sm3tt":
        return [f(0b11001110010, 21, 11) | f(rm, 16, 5) | f(0b10, 14, 2) | f(rng.randrange(4), 12, 2)
                | f(rng.randrange(4), 10, 2) | f(rn, 5, 5) | f(rd, 0, 5)]
    return [0xcec08000 | f(rng.randrange(2), 10, 1) | f(rn, 5, 5) | f(rd, 0, 5)]  # SHA512SU0, SM4E


def g_bf16(rng):
    # BFCVT, BFCVTN(2), BFDOT (vector, by element), BFMMLA, BFMLALB/T
    # (vector, by element) (FEAT_BF16)
    rd, rn, rm = vreg(rng), vreg(rng), vreg(rng)
    q = rng.randrange(2)
    kind = rng.choice(["bfcvt", "bfcvtn", "bfdot", "bfmmla", "bfmlal", "bfdot_elem", "bfmlal_elem"])
    base = {"bfcvt": 0x1e634000, "bfcvtn": 0x0ea16800, "bfdot": 0x2e40fc00, "bfmmla": 0x6e40ec00,
            "bfmlal": 0x2ec0fc00, "bfdot_elem": 0x0f40f000, "bfmlal_elem": 0x0fc0f000}[kind]
    w = base | f(rn, 5, 5) | f(rd, 0, 5)
    if kind in ("bfcvtn", "bfdot", "bfmlal", "bfdot_elem", "bfmlal_elem"):
        w |= f(q, 30, 1)
    if kind in ("bfdot", "bfmmla", "bfmlal"):
        w |= f(rm, 16, 5)
    if kind.endswith("_elem"):
        w |= f(rng.randrange(32), 16, 5) | f(rng.randrange(2), 21, 1) | f(rng.randrange(2), 11, 1)
    if kind == "bfcvt" and rng.random() < 0.3:  # a single halfway between two BFloat16s: movz, movk, fmov
        v = rng.choice([0x3f808000, 0x3f818000, 0xc0008000, 0x00018000, 0x7f7f8000])
        t = rnd_reg(rng, allow_zr=False)
        return [0x52800000 | f(v & 0xffff, 5, 16) | t, 0x72a00000 | f(v >> 16, 5, 16) | t,
                0x1e270000 | f(t, 5, 5) | rn, w]
    return [w]


def g_fp_v8x(rng):
    # FJCVTZS (FEAT_JSCVT); FRINT32Z/X, FRINT64Z/X (FRINTTS), scalar and
    # vector; FCMLA, FCADD (FCMA), vector and by element
    kind = rng.choice(["fjcvtzs", "frint", "frintv", "fcma", "fcma_elem"])
    if kind == "fcma":
        size = rng.choice([2, 3])
        q = 1 if size == 3 else rng.randrange(2)
        return [f(q, 30, 1) | f(1, 29, 1) | f(0b01110, 24, 5) | f(size, 22, 2) | f(vreg(rng), 16, 5) | f(1, 15, 1)
                | f(rng.choice([8, 9, 10, 11, 12, 14]), 11, 4) | f(1, 10, 1) | f(vreg(rng), 5, 5) | f(vreg(rng), 0, 5)]
    if kind == "fcma_elem":
        return [f(1, 30, 1) | f(1, 29, 1) | f(0b01111, 24, 5) | f(2, 22, 2) | f(rng.randrange(2), 20, 1)
                | f(rng.randrange(16), 16, 4) | f(rng.choice([1, 3, 5, 7]), 12, 4) | f(rng.randrange(2), 11, 1)
                | f(vreg(rng), 5, 5) | f(vreg(rng), 0, 5)]
    if kind == "fjcvtzs":
        return [0x1e7e0000 | f(vreg(rng), 5, 5) | f(rnd_reg(rng), 0, 5)]
    if kind == "frint":
        return [f(0b00011110, 24, 8) | f(rng.randrange(2), 22, 2) | f(1, 21, 1) | f(rng.randrange(16, 20), 15, 6)
                | f(0b10000, 10, 5) | f(vreg(rng), 5, 5) | f(vreg(rng), 0, 5)]
    sz = rng.randrange(2)
    q = 1 if sz else rng.randrange(2)
    return [f(q, 30, 1) | f(rng.randrange(2), 29, 1) | f(0b01110, 24, 5) | f(sz, 22, 1) | f(0b10000, 17, 5)
            | f(rng.choice([0x1e, 0x1f]), 12, 5) | f(0b10, 10, 2) | f(vreg(rng), 5, 5) | f(vreg(rng), 0, 5)]


GROUPS = {
    "fp16": g_fp16, "simd_fp16": g_simd_fp16, "fhm": g_fhm, "pauth": g_pauth,
    "flagm": g_flagm, "lrcpc": g_lrcpc, "simd_dot": g_simd_dot, "fp_v8x": g_fp_v8x, "crypto_v82": g_crypto_v82, "bf16": g_bf16,
    "ldst_simd": g_ldst_simd,
    "crypto": g_crypto,
    "simd_scalar_more": g_simd_scalar_more,
    "simd_elem": g_simd_elem, "crc32": g_crc32, "simd_fp2": g_simd_fp2, "simd_fp3": g_simd_fp3, "fp": g_fp,
    "simd_scalar": g_simd_scalar, "simd_3diff": g_simd_3diff,
    "simd_permute": g_simd_permute, "simd_ext": g_simd_ext, "simd_tbl": g_simd_tbl,
    "simd_across": g_simd_across, "simd_shift_imm": g_simd_shift_imm, "simd_2misc": g_simd_2misc,
    "simd_3same": g_simd_3same, "simd_modimm": g_simd_modimm, "simd_copy": g_simd_copy,
    "add_sub_imm": g_add_sub_imm, "logical_imm": g_logical_imm, "move_wide": g_move_wide,
    "bitfield": g_bitfield, "extr": g_extr, "adr": g_adr, "logical_reg": g_logical_reg,
    "add_sub_shift": g_add_sub_shift, "add_sub_ext": g_add_sub_ext, "adc_sbc": g_adc, "ccmp": g_ccmp,
    "csel": g_csel, "dp_1src": g_dp1, "dp_2src": g_dp2, "dp_3src": g_dp3, "ldst_uimm": g_ldst_uimm,
    "ldst_imm9": g_ldst_imm9, "ldst_reg": g_ldst_reg, "ldst_pair": g_ldst_pair, "ldst_excl": g_excl,
    "dc_zva": g_dc_zva, "branch": g_branch, "smc": g_smc, "fault": g_fault,
}

# The groups of features only `-cpu max` has (issue 20).
MAX_GROUPS = {"flagm", "lrcpc", "simd_dot", "fp_v8x", "crypto_v82", "bf16", "fp16", "simd_fp16", "fhm", "pauth"}


def usable():
    """The groups the CPU model has."""
    return [g for g in GROUPS if CPU == "max" or g not in MAX_GROUPS]


# Reserved encodings inside the groups above: each must be UNDEFINED on
# both sides (one per case: it ends the case in its SIGILL handler).
RESERVED = {
    "logical_imm 32-bit N=1": 0x12400000,          # and w0, w0, #<N=1>
    "logical_imm all-ones element": 0x9240fc00,     # imms=111111 with N=1
    "move_wide opc=01": 0x32800000,
    "move_wide 32-bit hw=2": 0x52c00000,
    "bitfield N!=sf": 0x13400000,
    "bitfield 32-bit immr>31": 0x13200000 | (32 << 16),
    "extr N!=sf": 0x93800000,
    "add_sub_shift shift=11": 0x8bc00000,
    "add_sub_ext imm3>4": 0x8b201400,
    "logical_reg 32-bit imm6>31": 0x0a008000,
    "dp_1src rev 32-bit opc=3": 0x5ac00c00,
    "dp_2src opcode 1": 0x9ac00400,
    "dp_3src op31=3": 0x9b600000,
    "dp_3src smulh o0=1": 0x9b408000,
    "ldst_pair opc=11": 0xe9000000,
    "ldst_reg option=000": 0xf8600800,
    "ldst_uimm ldrsw opc=11": 0xb9c00000,
    "udf": 0x00000000,
}


# The encodings of MAX_GROUPS' features: UNDEFINED on an Armv8.0 model.
RESERVED_V80 = {
    "cfinv (FlagM)": 0xd500401f,
    "axflag (FlagM2)": 0xd500405f,
    "rmif (FlagM)": 0xba000400,
    "setf8 (FlagM)": 0x3a00080d,
    "sb": 0xd50330ff,
    "ldapr (LRCPC)": 0xf8bfc380,
    "ldapur (LRCPC2)": 0x99400380,
    "ldlar (LOR)": 0xc8df7f80,
    "stllr (LOR)": 0x889f7f80,
    "sqrdmlah (RDM)": 0x6e808400,
    "sdot (DotProd)": 0x4e809400,
    "usdot (I8MM)": 0x4e809c00,
    "smmla (I8MM)": 0x4e80a400,
    "sdot by element (DotProd)": 0x4f80e000,
    "sqrdmlah scalar (RDM)": 0x7e808400,
    "fjcvtzs (JSCVT)": 0x1e7e0000,
    "frint32z (FRINTTS)": 0x1e284000,
    "frint64x vector (FRINTTS)": 0x6e61f800,
    "fcmla (FCMA)": 0x6e80c400,
    "bfcvt (BF16)": 0x1e634000,
    "bfdot (BF16)": 0x2e40fc00,
    "bfmmla (BF16)": 0x6e40ec00,
    "fcadd (FCMA)": 0x6e80e400,
    "msr dit, #1 (DIT)": 0xd503415f,
    "eor3 (SHA3)": 0xce000000,
    "sha512h (SHA512)": 0xce608000,
    "xar (SHA3)": 0xce800000,
    "sm3ss1 (SM3)": 0xce400000,
    "sm3tt1a (SM3)": 0xce408000,
    "sm3partw1 (SM3)": 0xce60c000,
    "sm4e (SM4)": 0xcec08400,
    "sm4ekey (SM4)": 0xce60c800,
    "sha512su0 (SHA512)": 0xcec08000,
    "mrs x0, ssbs (SSBS)": 0xd53b42c0,
    "fadd h0, h0, h0 (FP16)": 0x1ee02800,
    "fmov h0, w0 (FP16)": 0x1ee70000,
    "fadd v0.4h (FP16)": 0x0e401400,
    "fabs v0.4h (FP16)": 0x0ef8f800,
    "fmla v0.4h by element (FP16)": 0x0f001000,
    "fmov v0.4h, #imm (FP16)": 0x0f00fc00,
    "fmaxnmv h0, v0.4h (FP16)": 0x0e30c800,
    "pacia x0, x1 (PAuth)": 0xdac10020,
    "pacga (PAuth)": 0x9ac43062,
    "retaa (PAuth)": 0xd65f0bff,
    "ldraa (PAuth)": 0xf8200420,
    "fmlal (FHM)": 0x0e20ec00,
    "fmlal by element (FHM)": 0x0f800000,
}


def run_reserved(user_run, workdir=None):
    """Returns the names of reserved encodings the two sides disagree on."""
    tmp = workdir or tempfile.mkdtemp(prefix="cpu-undef-")
    bad = []
    rng = random.Random(0)
    reserved = RESERVED if CPU == "max" else {**RESERVED, **RESERVED_V80}
    for name, word in reserved.items():
        elf = os.path.join(tmp, "undef")
        _, init, nzcv, data, vinit, _ = make_case(rng, 0)
        build(case_source([word], init, nzcv, data, vinit), elf)
        ref, ours, ref_undef, our_undef = run_case(user_run, elf)
        if not (ref_undef and our_undef) or ref.stdout != ours.stdout:
            bad.append(f"{name} ({word:#010x}): qemu rc={ref.returncode} armvm rc={ours.returncode}")
    shutil.rmtree(tmp, ignore_errors=True)
    return bad


def make_case(rng, n, only=None):
    words, counts = [], {}
    names = [g for g in only or usable() if g != "fault"]
    with_fault = only is None or "fault" in only
    # a quarter of the cases (all, if faults are all that is asked for) end
    # in an exception somewhere in the stream, perhaps inside a body
    fault_at = rng.randrange(n) if with_fault and n and (not names or rng.random() < 0.25) else None
    names = names or INLINE
    _FAULT["armed"], _FAULT["made"] = False, 0
    make_case.executed = n  # (instructions before the exception, or all)
    while len(words) < n:
        if fault_at is not None and len(words) >= fault_at:
            fault_at, _FAULT["armed"] = None, True
        g = rng.choice(names)
        counts[g] = counts.get(g, 0) + 1
        words += GROUPS[g](rng)
        if _FAULT["armed"]:
            words += g_fault(rng)
        if _FAULT["made"] and "fault" not in counts:
            counts["fault"] = 1
            make_case.executed = len(words)
    init = [rng.getrandbits(64) if rng.random() < 0.7 else rng.choice([0, 1, 2**63, 2**64 - 1, 2**31, 2**32 - 1])
            for _ in range(31)]
    nzcv = rng.randrange(16) << 28
    data = bytes(rng.getrandbits(8) for _ in range(BUF))
    specials = [0, 2**64 - 1, 2**63, 2**63 - 1, 0x8000000080000000, 0x7fff7fff7fff7fff, 0x8080808080808080,
                # FP operands: NaNs (quiet, signalling), infinities, zeros, denormals, the smallest
                # normal and values next to it, 1.0, large and small integers in range
                0x7fc000007ff80000, 0x7f8000017ff00000, 0x7ff8000000000001, 0x7ff0000000000001,
                0x7ff0000000000000, 0xfff0000000000000, 0x000000007f800000, 0x00000000ff800000,
                0x0000000000000001, 0x8000000000000001, 0x0010000000000000, 0x000fffffffffffff,
                0x0000000000800000, 0x00000000007fffff, 0x0000000080000001, 0x3ff0000000000000,
                0x000000003f800000, 0x43e0000000000000, 0x000000004f000000, 0x41dfffffffc00000,
                0xc3e0000000000001, 0x3fe0000000000000, 0x000000003f000000, 0x0000000040400000,
                # just below 1.0 (times the smallest normal: tiny before rounding, normal after)
                0x3fefffffffffffff, 0x3f7fffff00800000, 0x008000003f7fffff,
                # singles halfway between two BFloat16 values (even and odd)
                0x3f8080003f818000, 0xbf7f8000c0008000,
                # halves: NaNs, infinities, the denormals' ends, the smallest normal, 1.0 and next to it,
                # the largest finite, -0, a value just below 2^-14 times 1.0
                0x7e007c017c00fc00, 0x000103ff04003c00, 0x7bff3bff80005640, 0x3c0184003c000400,
                0x7dff7c0080010bff, 0xfe00fc01c000c200]
    vinit = [rng.getrandbits(64) if rng.random() < 0.7 else rng.choice(specials) for _ in range(64)]
    # FPCR: rounding mode, FZ and DN (AHP and the rest: not used by the
    # forms tested)
    fpcr = (rng.randrange(4) << 22) | (rng.randrange(2) << 24) | (rng.randrange(2) << 25) | (rng.randrange(2) << 26)
    fpcr |= rng.randrange(2) << 19  # FZ16 (RES0 without FEAT_FP16)
    make_case.fpcr = fpcr
    # the random code starts this many instructions before a page boundary
    # (blocks end there; what follows is reached through the run loop or
    # an indirect link)
    make_case.cross = rng.randrange(4, 128)
    return words, init, nzcv, data, vinit, counts


def case_source(words, init, nzcv, data, vinit, fpcr=0, cross=0):
    regs = [r for r in range(31) if r not in (26, 27, 28)]
    lines = [".text", ".global _start", "_start:"]
    # rt_sigaction(SIGILL, SIGBUS, SIGSEGV) to `handler` (SA_SIGINFO)
    for sig in (4, 7, 11):
        lines += [f"  mov x0, #{sig}", "  adr x1, sigact", "  mov x2, #0", "  mov x3, #8", "  mov x8, #134", "  svc #0"]
    lines += ["  adr x27, vinit"]
    lines += [f"  ldp q{2 * k}, q{2 * k + 1}, [x27, #{32 * k}]" for k in range(16)]
    lines += ["  msr fpsr, xzr", f"  ldr x0, ={fpcr:#x}", "  msr fpcr, x0", "  adr x28, buf", "  adr x27, init"]
    for r in regs:
        lines.append(f"  ldr x{r}, [x27, #{8 * r}]")
    lines.append(f"  ldr x26, [x27, #{8 * 31}]")
    lines.append("  msr nzcv, x26")
    lines.append("  add x27, x28, #2048")
    lines.append("  mov x26, #0")
    if cross:  # (the padding is jumped over)
        lines += ["  b 1f", "  .balign 4096", f"  .skip {4096 - 4 * cross}", "1:"]
    lines += [f"  .inst {w:#010x}" for w in words]
    lines += ["  add x28, x28, #4096"]
    for r in range(0, 30, 2):
        lines.append(f"  stp x{r}, x{r + 1}, [x28, #{8 * r}]")
    lines += ["  str x30, [x28, #240]", "  mrs x0, nzcv", "  str x0, [x28, #248]", "  add x28, x28, #256"]
    lines += [f"  stp q{2 * k}, q{2 * k + 1}, [x28, #{32 * k}]" for k in range(16)]
    lines += ["  mrs x0, fpsr", "  str x0, [x28, #512]", "  sub x28, x28, #256", "  sub x28, x28, #4096",
              "out:", "  mov x0, #1", "  mov x1, x28", f"  mov x2, #{OUT}", "  mov x8, #64", "  svc #0",
              "  mov x0, #0", "  mov x8, #93", "  svc #0"]
    # The signal handler (X0 the signal, X1 siginfo, X2 the ucontext, X28
    # still the buffer): the registers from the frame's sigcontext
    # (uc_mcontext at 176: regs[31] at 8, pc at 264, pstate at 272; the
    # FP/SIMD record at 288: FPSR at 8, V0-V31 at 16) where the normal end
    # stores them; then the signal, si_code, the PC and si_addr.
    lines += ["handler:", "  add x3, x28, #4096", "  add x4, x2, #184"]
    for r in range(0, 30, 2):
        lines += [f"  ldp x5, x6, [x4, #{8 * r}]", f"  stp x5, x6, [x3, #{8 * r}]"]
    lines += ["  ldr x5, [x4, #240]", "  str x5, [x3, #240]", "  ldr x5, [x2, #448]", "  and x5, x5, #0xf0000000",
              "  str x5, [x3, #248]", "  add x4, x2, #480", "  add x3, x3, #256"]
    lines += [f"  ldp q{2 * k}, q{2 * k + 1}, [x4, #{32 * k}]\n  stp q{2 * k}, q{2 * k + 1}, [x3, #{32 * k}]"
              for k in range(16)]
    lines += ["  ldr w5, [x2, #472]", "  str x5, [x3, #512]", "  str x0, [x3, #520]", "  ldrsw x5, [x1, #8]",
              "  str x5, [x3, #528]", "  ldr x5, [x2, #440]", "  str x5, [x3, #536]", "  ldr x5, [x1, #16]",
              "  str x5, [x3, #544]", "  b out"]
    lines += [".data", ".balign 16", "sigact:", "  .quad handler, 4, 0, 0", "init:"]
    lines += [f"  .quad {v:#x}" for v in init] + [f"  .quad {nzcv:#x}"]
    lines += [".balign 16", "vinit:"] + [f"  .quad {v:#x}" for v in vinit]
    lines += [".balign 4096", "buf:"] + [f"  .byte {','.join(str(b) for b in data[i:i + 64])}"
                                         for i in range(0, len(data), 64)]
    lines += ["  .skip 1024"]
    return "\n".join(lines) + "\n"


def build(src_text, path):
    s = path + ".s"
    with open(s, "w") as fh:
        fh.write(src_text)
    # (-N: one RWX segment, so the code can rewrite itself)
    subprocess.run([CC, "-nostdlib", "-static", "-Wl,--build-id=none", "-Wl,-N", "-Wl,--no-warn-rwx-segments",
                    "-o", path, s], check=True)


# The CPU model both sides run (scripts/cpu-diff --cpu): an Armv8.0 one by
# default; `max` adds the groups of MAX_GROUPS (the features of issue 20).
CPU = "cortex-a57"


def run_case(user_run, elf):
    ref = subprocess.run(["qemu-aarch64", "-cpu", CPU, elf], capture_output=True, timeout=30)
    ours = subprocess.run([user_run, elf], capture_output=True, timeout=30,
                          env=dict(os.environ, ARMVM_USER_CPU=CPU))
    return ref, ours, ended_in(ref, 4), ended_in(ours, 4)


def ended_in(proc, sig):
    """Whether the case's handler caught `sig` (it writes the state and
    exits 0)."""
    return proc.returncode == 0 and len(proc.stdout) == OUT and signal_of(proc.stdout) == sig


def signal_of(out):
    return int.from_bytes(out[BUF + 776:BUF + 784], "little")


def describe_diff(ref_out, our_out):
    msgs = []
    regs_ref, regs_our = ref_out[BUF:], our_out[BUF:]
    for r in range(32):
        a = int.from_bytes(regs_ref[8 * r:8 * r + 8], "little")
        b = int.from_bytes(regs_our[8 * r:8 * r + 8], "little")
        if a != b:
            msgs.append(f"{'nzcv' if r == 31 else 'x%d' % r}: qemu {a:#x} armvm {b:#x}")
    for r in range(32):
        a = regs_ref[256 + 16 * r:256 + 16 * r + 16].hex()
        b = regs_our[256 + 16 * r:256 + 16 * r + 16].hex()
        if a != b:
            msgs.append(f"v{r}: qemu {a} armvm {b}")
    a = int.from_bytes(regs_ref[768:776], "little")
    b = int.from_bytes(regs_our[768:776], "little")
    if a != b:
        msgs.append(f"fpsr: qemu {a:#x} armvm {b:#x}")
    for k, name in enumerate(["signal", "si_code", "pc", "fault address"]):
        a = int.from_bytes(regs_ref[776 + 8 * k:784 + 8 * k], "little")
        b = int.from_bytes(regs_our[776 + 8 * k:784 + 8 * k], "little")
        if a != b:
            msgs.append(f"{name}: qemu {a:#x} armvm {b:#x}")
    for i in range(BUF):
        if ref_out[i] != our_out[i]:
            msgs.append(f"buf[{i}]: qemu {ref_out[i]:#x} armvm {our_out[i]:#x}")
            break
    return msgs


def run(user_run, cases, insns, seed, workdir=None, log=print, only=None):
    """Returns (mismatches, total instructions, per-group counts); `only`:
    a list of group names to draw from (default: all)."""
    rng = random.Random(seed)
    tmp = workdir or tempfile.mkdtemp(prefix="cpu-diff-")
    total, mismatches, groups = 0, [], {}
    run.undef_cases = run.signal_cases = 0
    for k in range(cases):
        words, init, nzcv, data, vinit, counts = make_case(rng, insns, only)
        for g, n in counts.items():
            groups[g] = groups.get(g, 0) + n
        elf = os.path.join(tmp, f"case{k}")
        build(case_source(words, init, nzcv, data, vinit, make_case.fpcr, make_case.cross), elf)
        ref, ours, ref_undef, our_undef = run_case(user_run, elf)
        total += make_case.executed
        if ref_undef and our_undef:  # (compared as any other end)
            run.undef_cases += 1
        if len(ref.stdout) == OUT and signal_of(ref.stdout):
            run.signal_cases += 1
        if ref.returncode != 0 or ours.returncode != 0 or ref.stdout != ours.stdout:
            diff = describe_diff(ref.stdout, ours.stdout) if len(ref.stdout) == len(ours.stdout) == OUT \
                else [f"qemu rc={ref.returncode} armvm rc={ours.returncode} {ours.stderr.decode().strip()}"]
            mismatches.append((k, "; ".join(diff[:6]), elf))
            log(f"case {k}: MISMATCH {diff[:6]}")
        else:
            os.unlink(elf)
            os.unlink(elf + ".s")
    if not mismatches and workdir is None:
        shutil.rmtree(tmp, ignore_errors=True)
    return mismatches, total, groups
