"""The commands libvirt's probe and domain start send (LIBVIRT.md §2, §5),
each reply checked against armvm's own query-qmp-schema and against what a
user or libvirt expects of it."""
import pytest

from armvm_test import Foreground


class Introspection:
    """Validates values against a query-qmp-schema reply."""

    def __init__(self, entries):
        self.by_name = {}
        for e in entries:
            assert e["name"] not in self.by_name, f"duplicate schema name {e['name']}"
            self.by_name[e["name"]] = e

    def check(self, tname, v, path="$"):
        t = self.by_name[tname]
        m = t["meta-type"]
        if m == "builtin":
            jt = t["json-type"]
            ok = {"string": isinstance(v, str), "int": isinstance(v, int) and not isinstance(v, bool),
                  "number": isinstance(v, (int, float)) and not isinstance(v, bool),
                  "boolean": isinstance(v, bool), "null": v is None, "value": True}[jt]
            assert ok, f"{path}: {v!r} is not {jt}"
        elif m == "enum":
            assert v in t["values"], f"{path}: {v!r} not in enum {tname}"
        elif m == "array":
            assert isinstance(v, list), f"{path}: not an array"
            for i, e in enumerate(v):
                self.check(t["element-type"], e, f"{path}[{i}]")
        elif m == "object":
            assert isinstance(v, dict), f"{path}: not an object"
            names = set()
            for mem in t["members"]:
                names.add(mem["name"])
                if mem["name"] in v:
                    self.check(mem["type"], v[mem["name"]], f"{path}.{mem['name']}")
                else:
                    assert "default" in mem, f"{path}: missing {mem['name']}"
            extra = set(v) - names
            assert not extra, f"{path}: undeclared members {extra}"
        else:
            raise AssertionError(f"unexpected meta-type {m}")

    def check_reply(self, command, value):
        self.check(self.by_name[command]["ret-type"], value, command)


@pytest.fixture(scope="module")
def vm(tmp_path_factory):
    v = Foreground(str(tmp_path_factory.mktemp("vm")), extra=["-S"])
    yield v
    v.stop()


@pytest.fixture(scope="module")
def q(vm):
    return vm.qmp()


@pytest.fixture(scope="module")
def schema(q):
    return Introspection(q.ok("query-qmp-schema"))


def test_schema_is_genuine_and_lists_every_command(q, schema):
    names = {c["name"] for c in q.ok("query-commands")}
    commands = {n for n, e in schema.by_name.items() if e["meta-type"] == "command"}
    assert names == commands
    for n in commands:
        e = schema.by_name[n]
        assert e["arg-type"] in schema.by_name and e["ret-type"] in schema.by_name
    events = {e["name"] for e in q.ok("query-events")}
    assert {"SHUTDOWN", "STOP", "RESUME"} <= events


def test_schema_switches_libvirt_to_json_cli(schema):
    """The four schema paths libvirt queries (LIBVIRT.md §2)."""
    b = schema.by_name
    assert "json-cli-hotplug" in b["device_add"]["features"]

    def member(tname, name):
        return next(m for m in b[tname]["members"] if m["name"] == name)

    qt = member(b["object-add"]["arg-type"], "qom-type")
    assert "secret" in b[qt["type"]]["values"]
    nt = member(b["netdev_add"]["arg-type"], "type")
    assert "dgram" in b[nt["type"]]["values"]
    flat = member(b["query-named-block-nodes"]["arg-type"], "flat")
    assert b[flat["type"]] == {"name": "bool", "meta-type": "builtin", "json-type": "boolean"}


PROBE = [
    ("query-version", None), ("query-target", None), ("query-commands", None), ("query-kvm", None),
    ("qom-list-types", None), ("qom-list-types", {"implements": "device", "abstract": True}),
    ("query-machines", None), ("query-cpu-definitions", None), ("query-tpm-models", None),
    ("query-tpm-types", None), ("query-command-line-options", None), ("query-migrate-capabilities", None),
    ("query-gic-capabilities", None), ("query-status", None), ("query-jobs", None), ("query-chardev", None),
    ("query-named-block-nodes", {"flat": True}), ("qom-list", {"path": "/machine/peripheral"}),
    ("query-block", None), ("query-cpus-fast", None), ("query-name", None), ("query-uuid", None),
    ("qom-list-properties", {"typename": "memory-backend-file"}),
    ("qom-list-properties", {"typename": "virt-7.2-machine"}),
    ("qom-list-properties", {"typename": "none-machine"}),
    ("qom-list-properties", {"typename": "max-arm-cpu"}),
    ("query-cpu-model-expansion", {"type": "full", "model": {"name": "max"}}),
    ("query-cpu-model-expansion", {"type": "full", "model": {"name": "cortex-a57", "props": {"pmu": False}}}),
]


@pytest.mark.parametrize("cmd,args", PROBE, ids=[f"{c}{i}" for i, (c, _) in enumerate(PROBE)])
def test_probe_command_replies_match_schema(q, schema, cmd, args):
    schema.check_reply(cmd, q.ok(cmd, args))


def test_probe_facts(q):
    assert q.ok("query-version")["qemu"]["major"] == 7
    assert q.ok("query-version")["package"].startswith("armvm ")
    assert q.ok("query-target") == {"arch": "aarch64"}
    assert q.ok("query-kvm") == {"enabled": False, "present": False}
    types = {t["name"] for t in q.ok("qom-list-types")}
    assert {"tcg-accel", "virt-7.2-machine", "none-machine", "max-arm-cpu", "cortex-a57-arm-cpu",
            "memory-backend-file", "secret"} <= types
    assert "kvm-accel" not in types  # not on this (x86-64) host
    machines = {m["name"]: m for m in q.ok("query-machines")}
    virt = machines["virt-7.2"]
    assert virt["alias"] == "virt" and virt["is-default"] is True and virt["cpu-max"] == 8
    assert virt["default-cpu-type"] == "cortex-a57-arm-cpu"
    assert "none" in machines and "integratorcp" not in machines
    cpus = {c["name"]: c for c in q.ok("query-cpu-definitions")}
    assert set(cpus) == {"cortex-a53", "cortex-a57", "cortex-a72", "neoverse-n1", "max", "host"}
    assert all(c["typename"] == n + "-arm-cpu" for n, c in cpus.items())
    assert cpus["host"]["unavailable-features"] and not cpus["max"]["unavailable-features"]
    gics = sorted(g["version"] for g in q.ok("query-gic-capabilities"))
    assert gics == [2, 3]
    assert q.ok("query-cpu-model-expansion", {"type": "full", "model": {"name": "cortex-a57",
                                                                         "props": {"pmu": False}}}) == \
        {"model": {"name": "cortex-a57", "props": {"aarch64": True, "pmu": False}}}
    assert q.ok("query-jobs") == []
    opts = {o["option"] for o in q.ok("query-command-line-options")}
    assert "sandbox" in opts and "machine" in opts


def test_device_list_properties_for_devices_and_non_devices(q):
    r = q.cmd("device-list-properties", {"typename": "virtio-gpu-pci"})
    assert r["error"]["class"] == "DeviceNotFound"
    blk = {p["name"]: p for p in q.ok("device-list-properties", {"typename": "virtio-blk-pci"})}
    assert {"drive", "num-queues", "disable-legacy", "addr", "bootindex"} <= set(blk)
    assert blk["num-queues"] == {"name": "num-queues", "type": "uint16", "default-value": 65535}
    assert blk["disable-legacy"]["default-value"] == "auto"
    assert "hotplug" in {p["name"] for p in q.ok("device-list-properties", {"typename": "pcie-root-port"})}
    types = {t["name"] for t in q.ok("qom-list-types")}
    assert {"gpex-pcihost", "pcie-root-port", "virtio-blk-pci", "virtio-net-pci", "virtio-balloon-pci"} <= types
    props = {p["name"] for p in q.ok("device-list-properties", {"typename": "cortex-a57-arm-cpu"})}
    assert "pmu" in props
    r = q.cmd("device-list-properties", {"typename": "secret"})
    assert r["error"] == {"class": "GenericError", "desc": "Parameter 'typename' expects device"}
    # Every concrete device type answers (libvirt's probe asks for several,
    # and one error fails the whole probe): each type's parents lead to
    # "device".
    for t in q.ok("qom-list-types", {"implements": "device"}):
        assert isinstance(q.ok("device-list-properties", {"typename": t["name"]}), list), t
    devices = {t["name"] for t in q.ok("qom-list-types", {"implements": "device"})}
    for t in q.ok("qom-list-types"):
        if t.get("parent") in ("usb-hid", "usb-storage-dev", "pci-xhci", "virtio-pci", "pci-device"):
            assert t["name"] in devices, t


def test_migrate_set_capabilities_events(q):
    assert q.ok("migrate-set-capabilities", {"capabilities": [{"capability": "events", "state": True}]}) == {}
    assert q.ok("query-migrate-capabilities") == [{"state": True, "capability": "events"}]
    r = q.cmd("migrate-set-capabilities", {"capabilities": [{"capability": "xbzrle", "state": True}]})
    assert r["error"]["desc"] == "Parameter 'capabilities[0].capability' does not accept value 'xbzrle'"


def test_hotplug_commands_refuse_honestly(q):
    """-machine none has nothing to plug into (test_pci.py hot-plugs on virt)."""
    r = q.cmd("device_add", {"driver": "virtio-blk-device", "id": "d0", "drive": "x"})
    assert r["error"] == {"class": "GenericError",
                          "desc": "Device 'virtio-blk-device' cannot be hot-plugged on this machine"}
    r = q.cmd("object-add", {"qom-type": "secret", "id": "s0", "data": "x"})
    assert r["error"]["class"] == "GenericError"
    r = q.cmd("netdev_add", {"type": "user", "id": "n0"})
    assert r["error"]["desc"] == "netdev_add needs a machine: -machine none has no network"
    r = q.cmd("device_del", {"id": "d0"})
    assert r["error"] == {"class": "DeviceNotFound", "desc": "Device 'd0' not found"}
