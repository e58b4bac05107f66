"""Nagios perfdata, exactly: plugins' full grammar in, thresholds a Nagios reader alerts on
exactly as opsbook does out. Read back with a parser written from the guidelines alone."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from opsbook.results import Range, Unit
from tests.conftest import CliResult, Write
from tests.support import certs
from tests.support import nagios_guidelines as guidelines
from tests.support.servers import HttpApp, RedisServer, closed_port

from .helpers import run

Cli = Callable[..., CliResult]
PLUGINS = Path("/usr/lib/nagios/plugins")
EVERY_FORM = (
    "t=0,5s;1,5;2,5 'a b''c'=7;10:;~:5 r=0.5s;0:1;@2:3;0; n=12c "
    "size=10KB;20;30;0;100 lost=U;1;2 d=250ms;~:300;@400:500"
)


def plugin(tmp_path: Path, code: int, output: str) -> list[str]:
    script = tmp_path / "plugin.py"
    script.write_text(f"import sys\nprint({output!r})\nsys.exit({code})\n")
    return [sys.executable, str(script)]


def test_a_plugins_full_grammar_is_read(tmp_path: Path) -> None:
    result = run({"type": "command", "command": plugin(tmp_path, 0, f"OK | {EVERY_FORM}")})
    m = {metric.name: metric for metric in result.metrics}
    assert (m["t"].value, m["t"].unit) == (0.5, Unit.SECONDS)  # comma decimals
    assert (m["t"].warning, m["t"].critical) == (Range(0, 1.5), Range(0, 2.5))
    assert (m["a b'c"].warning, m["a b'c"].critical) == (Range(10, None), Range(None, 5))
    assert (m["r"].warning, m["r"].critical) == (Range(0, 1), Range(2, 3, inside=True))
    assert (m["n"].value, m["n"].unit) == (12, Unit.COUNTER)
    assert (m["size"].value, m["size"].max) == (10240, 102400)  # KB is 1024 bytes
    assert m["size"].warning == Range(0, 20480)
    assert m["lost"].value is None and m["lost"].critical == Range(0, 2)  # U: not measured
    assert m["d"].value == 0.25 and m["d"].critical == Range(0.4, 0.5, inside=True)


def test_a_plugins_perfdata_is_re_emitted_intact(
    cli: Cli, write_config: Write, tmp_path: Path
) -> None:
    argv = plugin(tmp_path, 1, f"PLUGIN WARNING: something | {EVERY_FORM}")
    path = write_config(f"checks:\n  p: {{type: command, command: {json.dumps(argv)}}}\n")
    out = cli("check", "-c", str(path), "-f", "nagios")
    assert out.code == 1
    text, perf = guidelines.split_output(out.out)
    assert text.startswith("SERVICE WARNING")
    items = guidelines.read(perf)
    assert {k: (i.value, i.warn, i.crit, i.min, i.max) for k, i in items.items()} == {
        "p_t": ("0.5s", "1.5", "2.5", "", ""),
        "p_a b'c": ("7", "10:", "~:5", "", ""),
        "p_r": ("0.5s", "1", "@2:3", "0", ""),
        "p_n": ("12c", "", "", "", ""),
        "p_size": ("10240B", "20480", "30720", "0", "102400"),
        "p_lost": ("U", "1", "2", "", ""),
        "p_d": ("0.25s", "0.3", "@0.4:0.5", "", ""),
    }
    doc = json.loads(cli("check", "-c", str(path), "-f", "json").out)
    metrics = {m["name"]: m for m in doc["checks"][0]["metrics"]}
    ab = metrics["a b'c"]
    assert (ab["warning_range"], ab["critical_range"]) == ("10:", "~:5")
    assert (ab["warning"], ab["critical"]) == (10, 5)  # schema 1's numbers, kept
    assert (metrics["r"]["critical_range"], metrics["r"]["critical"]) == ("@2:3", None)
    assert metrics["lost"]["value"] is None


@pytest.mark.parametrize(
    ("name", "argv_of"),
    [
        ("check_http", lambda app, redis: ["-H", "127.0.0.1", "-p", str(app.port), "-u",
                                           "/health", "-w", "0.000001", "-c", "10"]),
        ("check_tcp", lambda app, redis: ["-H", "127.0.0.1", "-p", str(redis.port),
                                          "-w", "0.000001", "-c", "10"]),
        ("check_tcp", lambda app, redis: ["-H", "127.0.0.1", "-p", str(closed_port())]),
        ("check_disk", lambda app, redis: ["-w", "100%", "-c", "0%", "-p", "/"]),
        ("check_load", lambda app, redis: ["-w", "1000,1000,1000", "-c", "2000,2000,2000"]),
        ("check_dummy", lambda app, redis: ["2", "the text"]),
    ],
)  # fmt: skip
def test_monitoring_plugins_as_command_checks(
    name: str,
    argv_of: Callable[[HttpApp, RedisServer], list[str]],
    app: HttpApp,
    redis: RedisServer,
    cli: Cli,
    write_config: Write,
) -> None:
    import subprocess

    argv = [str(PLUGINS / name), *argv_of(app, redis)]
    direct = subprocess.run(argv, capture_output=True, text=True, check=False)
    path = write_config(f"checks:\n  p: {{type: command, command: {json.dumps(argv)}}}\n")
    out = cli("check", "-c", str(path), "-f", "nagios")
    assert out.code == direct.returncode  # the plugin's verdict, unchanged
    theirs = guidelines.read(guidelines.split_output(direct.stdout)[1])
    ours = guidelines.read(guidelines.split_output(out.out)[1])
    assert {k.removeprefix("p_") for k in ours} == set(theirs)
    for label, item in theirs.items():
        again = ours[f"p_{label}"]
        if item.uom() in ("s", "ms", "us"):  # a time: the two runs differ, the unit does not
            assert again.uom() == "s"
        elif not label.startswith("load"):  # the load average may move between the two runs
            assert again.number() == pytest.approx(_in_base_units(item), rel=1e-3)
        if item.warn or item.crit:  # same thresholds: a reader alerts on both alike
            assert again.state() == item.state(), (item, again)


def _in_base_units(item: guidelines.Item) -> float:
    scale = {"ms": 1e-3, "us": 1e-6, "KB": 1024.0, "MB": 1024.0**2, "GB": 1024.0**3}
    return item.number() * scale.get(item.uom(), 1.0)


def test_thresholds_read_back_alert_exactly_as_opsbook_judged(
    cli: Cli, write_config: Write, tmp_path: Path, app: HttpApp
) -> None:
    cert = tmp_path / "cert.pem"
    certs.write(cert, certs.issue("example.com", days=20))
    app.metrics.pool.set(19)
    path = write_config(
        f"""
        checks:
          cert: {{type: tls, file: {cert}, warning: 30d, critical: 7d}}
          disk: {{type: disk, warning: 1%, critical: 100%}}
          pool:
            type: prometheus
            url: {app.url("/metrics")}
            signals:
              in_use: {{kind: gauge, metric: db_pool_in_use, warning: 16, critical: 19}}
          up:
            type: prometheus
            url: {app.url("/metrics")}
            signals:
              pool_up: {{kind: gauge, metric: db_pool_in_use, critical: {{below: 20}}}}
        """
    )
    out = cli("check", "-c", str(path), "-f", "nagios")
    items = guidelines.read(guidelines.split_output(out.out)[1])
    # lower is worse: alert under 30 and 7 days, as Nagios reads "30:" and "7:"
    assert (items["cert_days_left"].warn, items["cert_days_left"].crit) == ("30:", "7:")
    assert (items["up_pool_up"].crit, items["pool_in_use"].crit) == ("20:", "~:19")
    verdicts = {line.split("]")[1].split(":")[0].strip(): line[1:].split("]")[0]
                for line in out.out.splitlines()[1:]}  # fmt: skip
    assert verdicts == {"cert": "WARNING", "disk": "WARNING", "pool": "WARNING", "up": "CRITICAL"}
    states = {0: "OK", 1: "WARNING", 2: "CRITICAL"}
    for check, label in (("cert", "cert_days_left"), ("disk", "disk_used"),
                         ("pool", "pool_in_use"), ("up", "up_pool_up")):  # fmt: skip
        assert states[items[label].state()] == verdicts[check], label
