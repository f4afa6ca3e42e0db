"""A tiny flattened-device-tree reader (devicetree specification §5), so
tests can compare trees node by node without golden blobs."""
import struct


def parse(blob):
    magic, total, off_struct, off_strings = struct.unpack(">IIII", blob[:16])
    assert magic == 0xD00DFEED, "not a DTB"
    assert total == len(blob)
    nodes = {}
    path = []
    pos = off_struct

    def cstr(off):
        end = blob.index(b"\0", off)
        return blob[off:end].decode()

    while True:
        (tok,) = struct.unpack(">I", blob[pos:pos + 4])
        pos += 4
        if tok == 1:
            name = cstr(pos)
            pos += (len(name) + 1 + 3) & ~3
            path.append(name)
            nodes["/" + "/".join(path[1:])] = {}
        elif tok == 2:
            path.pop()
        elif tok == 3:
            ln, nameoff = struct.unpack(">II", blob[pos:pos + 8])
            pos += 8
            nodes["/" + "/".join(path[1:])][cstr(off_strings + nameoff)] = blob[pos:pos + ln]
            pos += (ln + 3) & ~3
        elif tok == 4:
            continue
        elif tok == 9:
            return nodes
        else:
            raise ValueError(f"bad token {tok}")


def cells(v):
    return list(struct.unpack(f">{len(v) // 4}I", v))


def normalized(nodes):
    """Phandle numbers replaced by the path of the node they name, random
    seeds dropped: what is left must be identical between emulators."""
    by_ph = {cells(p["phandle"])[0]: path for path, p in nodes.items() if "phandle" in p}
    out = {}
    for path, props in nodes.items():
        n = {}
        for k, v in props.items():
            if k in ("rng-seed", "kaslr-seed", "phandle"):
                continue
            if k in ("interrupt-parent", "cpu"):
                n[k] = by_ph[cells(v)[0]]
            elif k == "clocks":
                n[k] = [by_ph[c] for c in cells(v)]
            elif k == "gpios":  # <&controller line flags>
                c = cells(v)
                n[k] = [by_ph[c[0]]] + c[1:]
            elif k == "msi-map":  # <rid-base &controller msi-base length>
                c = cells(v)
                n[k] = [c[0], by_ph[c[1]]] + c[2:]
            elif k == "interrupt-map":  # <child-unit(3) pin &parent parent-unit(2) spec(3)>...
                c = cells(v)
                n[k] = [by_ph[x] if i % 10 == 4 else x for i, x in enumerate(c)]
            else:
                n[k] = v
        out[path] = n
    return out
