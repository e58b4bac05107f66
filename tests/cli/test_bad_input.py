"""Bad input of every kind gets one clear line and the documented exit code: never
"internal error", a traceback, a hang, or memory without bound."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from opsbook.config.loader import load_config
from opsbook.errors import ConfigError
from tests.conftest import run_opsbook

CONFIG = "store: sqlite:///{root}/s.db\nchecks:\n  mem: {{type: memory}}\n"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "opsbook.yaml"
    path.write_text(CONFIG.format(root=tmp_path))
    return path


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["serve", "--listen", "foo"], "--listen: expected host:port"),
        (["serve", "--listen", "127.0.0.1:99999"], "port 99999 is out of range"),
        (["serve", "--listen", "::1:9184"], "an IPv6 address in brackets"),
        (["history", "mem", "--since", "99999999999d"], "--since '99999999999d'"),
        (["silence", "add", "mem", "--for", "99999999999d", "--why", "x"], "at most 100 years"),
        (["logs", "access", "/bin/ls"], "/bin/ls: not a text log"),
        (["logs", "errors", "/bin/ls"], "/bin/ls: not a text log"),
    ],
)
def test_a_bad_argument_is_one_line(config: Path, args: list[str], says: str) -> None:
    done = run_opsbook(*args, "--config", str(config), timeout=30)
    assert done.returncode in (1, 3), done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr


BOMB = "\n".join(
    [f"l0: &l0 [{', '.join(['lol'] * 9)}]"]
    + [f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, 10)]
)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (BOMB, "expands to more than 100000 values"),
        ("checks: &x\n  mem: *x\n", "an alias refers to a node that contains it"),
        ("a: " + "[" * 5000 + "]" * 5000 + "\n", "nesting"),
        ("service: " + "x" * (2 << 20) + "\n", "expected at most"),
        ("server:\n  listen: '::1:9184'\n", "an IPv6 address in brackets"),
        ("server:\n  listen: 'host:0'\n", "out of range"),
    ],
)
def test_a_hostile_config_is_one_line_quickly(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "opsbook.yaml"
    path.write_text(text)
    done = run_opsbook("config", "validate", "--config", str(path), timeout=30)
    assert done.returncode == 3, done.stderr
    assert says in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


yaml_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30)
)
KEYS = ["checks", "store", "server", "listen", "type", "url", "interval", "people", "channels",
        "escalation", "backups", "mem", "x"]  # fmt: skip
QUICK = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
yaml_docs = st.recursive(
    yaml_scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=25,
)


@QUICK
@given(doc=yaml_docs)
@example(doc={"checks": {"checks": {"type": []}}})  # once an internal error (unhashable)
def test_random_config_documents_load_or_fail_with_config_error(
    tmp_path: Path, doc: object
) -> None:
    import yaml

    path = tmp_path / "random.yaml"
    path.write_text(yaml.safe_dump(doc))
    try:
        load_config(str(path), env={})
    except ConfigError as exc:
        assert all(line.strip() for line in exc.lines)  # each problem one clear line
        assert "Traceback" not in str(exc)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=400))
def test_random_text_as_a_config_fails_with_config_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "random.yaml"
    path.write_text(text, errors="surrogatepass")
    with contextlib.suppress(ConfigError):  # anything else fails the test
        load_config(str(path), env={})
