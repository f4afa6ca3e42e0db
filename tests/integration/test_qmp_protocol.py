"""The QMP wire protocol: greeting, negotiation, error classes, malformed
and oversized input, several monitors, socket kinds, events."""
import json
import os
import socket
import subprocess
import time

import pytest

from armvm_test import Foreground, Qmp, armvm_path


@pytest.fixture
def vm(tmp_path):
    v = Foreground(str(tmp_path), extra=["-S"])
    yield v
    v.stop()


def err(cls, desc):
    return {"error": {"class": cls, "desc": desc}}


def GE(desc):
    return err("GenericError", desc)


def test_greeting_and_negotiation(vm):
    q = Qmp.connect_unix(vm.sock)
    g = q.greeting()
    assert g["QMP"]["version"]["qemu"] == {"micro": 0, "minor": 2, "major": 7}
    assert g["QMP"]["version"]["package"].startswith("armvm ")
    assert g["QMP"]["capabilities"] == []
    assert q.cmd("query-status") == err("CommandNotFound",
                                        "Expecting capabilities negotiation with 'qmp_capabilities'")
    assert q.cmd("qmp_capabilities", {"enable": ["oob"]}) == GE("Capability 'oob' not available")
    assert q.cmd("qmp_capabilities", id=1) == {"return": {}, "id": 1}
    assert q.cmd("qmp_capabilities") == err("CommandNotFound",
                                            "Capabilities negotiation is already complete, command ignored")


# (raw request bytes, expected reply) — each checked against what QEMU 7.2
# answers to the same bytes.
MALFORMED = [
    (b'[1,2]\n', GE("QMP input must be a JSON object")),
    (b'"str"\n', GE("QMP input must be a JSON object")),
    (b'42\n', GE("QMP input must be a JSON object")),
    (b'true\n', GE("QMP input must be a JSON object")),
    (b'null\n', GE("QMP input must be a JSON object")),
    (b'{}\n', GE("QMP input lacks member 'execute'")),
    (b'{"arguments":{}}\n', GE("QMP input lacks member 'execute'")),
    (b'{"execute":1}\n', GE("QMP input member 'execute' must be a string")),
    (b'{"execute":["query-status"]}\n', GE("QMP input member 'execute' must be a string")),
    (b'{"execute":"query-status","arguments":[]}\n', GE("QMP input member 'arguments' must be an object")),
    (b'{"execute":"query-status","arguments":null}\n', GE("QMP input member 'arguments' must be an object")),
    (b'{"execute":"query-status","foo":1}\n', GE("QMP input member 'foo' is unexpected")),
    (b'{"exec-oob":"query-status"}\n', GE("QMP input member 'exec-oob' is unexpected")),
    (b'{"execute":"nope","id":"x"}\n', {"id": "x", **err("CommandNotFound", "The command nope has not been found")}),
    (b'{"execute":"device-list-properties"}\n', GE("Parameter 'typename' is missing")),
    (b'{"execute":"device-list-properties","arguments":{"typename":1}}\n',
     GE("Invalid parameter type for 'typename', expected: string")),
    (b'{"execute":"device-list-properties","arguments":{"typename":"foo"}}\n',
     err("DeviceNotFound", "Device 'foo' not found")),
    (b'{"execute":"query-status","arguments":{"x":1}}\n', GE("Parameter 'x' is unexpected")),
    (b'{"execute":"query-named-block-nodes","arguments":{"flat":"yes"}}\n',
     GE("Invalid parameter type for 'flat', expected: boolean")),
    (b'{"execute":"query-cpu-model-expansion","arguments":{"type":"bogus","model":{"name":"max"}}}\n',
     GE("Parameter 'type' does not accept value 'bogus'")),
    (b'{"execute":"query-cpu-model-expansion","arguments":{"type":"full","model":{}}}\n',
     GE("Parameter 'model.name' is missing")),
    (b'{"execute":"query-cpu-model-expansion","arguments":{"type":"full","model":{"name":"host"}}}\n',
     GE("The CPU type 'host' requires KVM")),
    (b'{"execute":"query-cpu-model-expansion","arguments":{"type":"static","model":{"name":"max"}}}\n',
     GE("The requested expansion type is not supported")),
    (b'{"execute":"qom-list-properties","arguments":{"typename":"foo"}}\n',
     err("DeviceNotFound", "Class 'foo' not found")),
    (b'{"execute":"query-command-line-options","arguments":{"option":"nope"}}\n',
     GE("invalid option name: nope")),
    (b'{"execute":"qom-list","arguments":{"path":"/nope"}}\n', err("DeviceNotFound", "Device '/nope' not found")),
    (b'}\n', GE("JSON parse error, expecting value")),
]


def test_malformed_requests_get_errors_and_server_keeps_serving(vm):
    q = vm.qmp()
    assert len(MALFORMED) >= 20
    for raw, expected in MALFORMED:
        assert q.cmd_raw(raw) == expected, raw
        # Still serving after every bad request.
        assert q.cmd("query-status")["return"]["status"] == "prelaunch"


def test_json_syntax_errors(vm):
    q = vm.qmp()
    for raw in [b'{bad}\n', b'{"execute": }\n', b'{"execute":"query-status",}\n', b'{"a":"\\x"}\n']:
        r = q.cmd_raw(raw)
        assert r["error"]["class"] == "GenericError"
        assert r["error"]["desc"].startswith("JSON parse error, ")
        assert q.ok("query-status")["status"] == "prelaunch"
    # Stray bytes outside any value.
    r = q.cmd_raw(b'\xff\n')
    assert r == GE("JSON parse error, stray '\\xff'")
    assert q.ok("query-version")


def test_framing_without_newlines_and_split_reads(vm):
    q = vm.qmp()
    q.send_raw(b'{"execute":"query-target"}{"execute":"query-kvm"}')
    assert q.reply() == {"return": {"arch": "aarch64"}}
    assert q.reply() == {"return": {"enabled": False, "present": False}}
    # One request split over several writes, with a newline inside.
    for part in [b'{"exec', b'ute": "query-status"\n', b', "id": {"a": [1, 2]}}']:
        q.send_raw(part)
        time.sleep(0.02)
    r = q.reply()
    assert r["id"] == {"a": [1, 2]} and r["return"]["running"] is False


def test_oversized_and_too_deep_input(vm):
    q = vm.qmp()
    assert q.cmd_raw(b"[" * 1100 + b"\n") == GE("JSON nesting depth limit exceeded")
    assert q.ok("query-status")
    # More than 64 MiB in one value.
    big = b'{"execute":"query-status","id":"' + b"x" * (65 << 20) + b'"}\n'
    assert q.cmd_raw(big) == GE("JSON token size limit exceeded")
    assert q.ok("query-status")["status"] == "prelaunch"
    # A large but legal id is echoed.
    r = q.cmd("query-target", id="y" * 100000)
    assert r["id"] == "y" * 100000


def test_stop_cont_events_and_status(vm):
    q = vm.qmp()
    assert q.ok("query-status") == {"status": "prelaunch", "singlestep": False, "running": False}
    assert q.ok("cont") == {}
    ev = q.wait_event("RESUME")
    assert "data" not in ev and set(ev["timestamp"]) == {"seconds", "microseconds"}
    assert abs(ev["timestamp"]["seconds"] - time.time()) < 5
    assert q.ok("query-status") == {"status": "running", "singlestep": False, "running": True}
    assert q.ok("stop") == {}
    q.wait_event("STOP")
    assert q.ok("query-status")["status"] == "paused"
    assert q.ok("human-monitor-command", {"command-line": "info status"}) == "VM status: paused\r\n"
    assert q.ok("human-monitor-command", {"command-line": "info version"}).startswith("7.2.0 (armvm ")
    assert q.ok("human-monitor-command", {"command-line": "bogus"}) == "unknown command: 'bogus'\r\n"


def test_quit_closes_and_exits(vm):
    q = vm.qmp()
    assert q.ok("quit") == {}
    assert q.wait_event("SHUTDOWN")["data"]["reason"] == "host-qmp-quit"
    assert vm.wait() == 0
    assert not os.path.exists(vm.sock)


def test_reconnect_gets_a_fresh_session(vm):
    q = vm.qmp()
    q.close()
    q2 = Qmp.connect_unix(vm.sock)
    q2.greeting()
    assert q2.cmd("query-status")["error"]["class"] == "CommandNotFound"


def test_several_monitors_and_tcp_and_client_mode(tmp_path):
    # A QMP client listening for armvm to connect (server=off).
    lsock = socket.socket(socket.AF_UNIX)
    client_path = str(tmp_path / "client.sock")
    lsock.bind(client_path)
    lsock.listen(1)
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    port = tcp.getsockname()[1]
    tcp.close()
    v = Foreground(str(tmp_path), extra=["-S", "-qmp", f"tcp:127.0.0.1:{port},server=on,wait=off",
                                         "-chardev", f"socket,id=c1,path={client_path}",
                                         "-mon", "chardev=c1,mode=control",
                                         "-qmp-pretty", f"unix:{tmp_path}/pretty.sock,server,nowait"])
    try:
        conn, _ = lsock.accept()
        q_client = Qmp(conn)
        q_client.negotiate()
        q_unix = v.qmp()
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        q_tcp = Qmp(s)
        q_tcp.negotiate()
        q_pretty = Qmp.connect_unix(str(tmp_path / "pretty.sock"))
        q_pretty.sock.settimeout(5)
        data = b""
        while b"\r\n" not in data:
            data += q_pretty.sock.recv(4096)
        assert b"\n    " in data  # pretty-printed greeting
        # An event reaches every negotiated monitor.
        q_tcp.ok("cont")
        for q in (q_client, q_unix, q_tcp):
            assert q.wait_event("RESUME")["event"] == "RESUME"
        chardevs = {c["label"]: c for c in q_unix.ok("query-chardev")}
        assert chardevs["c1"]["filename"] == f"unix:{client_path}"
        assert any(c["filename"] == f"tcp:127.0.0.1:{port},server=on" for c in chardevs.values())
    finally:
        v.stop()


def test_inherited_listening_fd(tmp_path):
    """libvirt binds the monitor socket itself and passes the fd."""
    path = str(tmp_path / "monitor.sock")
    ls = socket.socket(socket.AF_UNIX)
    ls.bind(path)
    ls.listen(1)
    fd = ls.fileno()
    p = subprocess.Popen([armvm_path(), "-machine", "none", "-S", "-nodefaults", "-display", "none",
                          "-chardev", f"socket,id=charmonitor,fd={fd},server=on,wait=off",
                          "-mon", "chardev=charmonitor,id=monitor,mode=control"],
                         pass_fds=[fd], stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ls.close()
    try:
        q = Qmp.connect_unix(path)
        q.negotiate()
        assert q.ok("query-status")["status"] == "prelaunch"
        q.ok("quit")
        assert p.wait(timeout=5) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_qmp_on_stdio_reads_commands_from_a_regular_file(tmp_path):
    # epoll cannot watch a regular file: its input is read a chunk per loop
    # turn instead of never (the commands used to be ignored: a hang).
    cmds = tmp_path / "cmds"
    cmds.write_text('{"execute": "qmp_capabilities"}\n{"execute": "query-status"}\n{"execute": "quit"}\n')
    with open(cmds) as stdin:
        p = subprocess.run([armvm_path(), "-M", "none", "-nodefaults", "-display", "none", "-qmp", "stdio"],
                           stdin=stdin, capture_output=True, text=True, timeout=20)
    assert p.returncode == 0, p.stderr
    lines = [json.loads(l) for l in p.stdout.splitlines()]
    assert "QMP" in lines[0]
    assert lines[1] == {"return": {}}
    assert lines[2]["return"]["status"] == "running"
    assert lines[3] == {"return": {}}
    assert lines[4]["event"] == "SHUTDOWN"
