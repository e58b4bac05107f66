"""A repository someone else can write to: every name that comes from a manifest, an object
key or a listing is checked, must equal where it was found, and no path leaves the repository,
on a directory and on S3 alike, for every command that reads a repository."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.backups.conftest import Cli, Env
from tests.support.servers import S3Server

COMMANDS: tuple[tuple[str, ...], ...] = (
    ("backup", "list"),
    ("backup", "prune"),
    ("backup", "verify", "latest"),
    ("backup", "restore", "latest", "--to", "{to}", "--force", "--yes"),
    ("backup", "copy", "latest", "--to", "local"),
)


def files_backup(ops: Cli, env: Env, repos: dict[str, str]) -> dict[str, Any]:
    etc = env.root / "etc"
    etc.mkdir(exist_ok=True)
    (etc / "app.env").write_text("WORKERS=4\n")
    lines = ["repositories:"] + [f"  {k}: {v}" for k, v in repos.items()]
    lines += ["encryption: none", "sources:", f"  conf: {{type: files, paths: [{etc}]}}"]
    env.write("\n".join(lines))
    made = ops("backup", "run", "conf", "-f", "json")
    assert made.code == 0, made.err
    return dict(json.loads(made.out))


def victim(root: Path) -> Path:
    target = root / "victim"
    target.mkdir(exist_ok=True)
    (target / "precious.txt").write_text("do not delete")
    return target


def assert_refused_everywhere(ops: Cli, env: Env, words: tuple[str, ...]) -> None:
    for command in COMMANDS:
        args = [a.replace("{to}", str(env.root / "restored")) for a in command]
        result = ops(*args)
        assert result.code != 0, (args, result.out)
        lines = result.err.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.err, (args, result.err)
        assert any(w in lines[0] for w in words), (args, lines[0])


Plant = Callable[[str, str, dict[str, Any]], None]


def filesystem_planter(env: Env) -> Plant:
    def plant(source: str, backup_id: str, manifest: dict[str, Any]) -> None:
        where = env.root / "repo" / source / backup_id
        where.mkdir(parents=True, exist_ok=True)
        (where / "manifest.json").write_text(json.dumps(manifest))

    return plant


def real_manifest(env: Env, made: dict[str, Any]) -> dict[str, Any]:
    found = next((env.root / "repo").glob(f"*/{made['id']}/manifest.json"))
    return dict(json.loads(found.read_text()))


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("id", "../../../victim", ("manifest refused",)),
        ("source", "../victim", ("manifest refused",)),
        ("id", "20261101T000000Z-conf-ffff", ("not the place it was found in",)),
    ],
)
def test_a_manifest_naming_another_place_is_refused_by_every_command(
    ops: Cli, env: Env, field: str, value: str, words: tuple[str, ...]
) -> None:
    made = files_backup(ops, env, {"local": f"{{type: filesystem, path: {env.root / 'repo'}}}"})
    target = victim(env.root)
    manifest = real_manifest(env, made) | {field: value}
    filesystem_planter(env)("conf", "20261201T000000Z-conf-0000", manifest)
    assert_refused_everywhere(ops, env, words)
    assert (target / "precious.txt").read_text() == "do not delete"


def test_an_artifact_file_name_with_a_path_is_refused(ops: Cli, env: Env) -> None:
    made = files_backup(ops, env, {"local": f"{{type: filesystem, path: {env.root / 'repo'}}}"})
    manifest = real_manifest(env, made)
    manifest["artifacts"][0]["file"] = "../../../../etc/passwd"
    manifest["id"] = "20261201T000000Z-conf-0000"
    filesystem_planter(env)("conf", manifest["id"], manifest)
    assert_refused_everywhere(ops, env, ("manifest refused",))


def test_a_symlinked_backup_directory_is_not_followed(ops: Cli, env: Env) -> None:
    made = files_backup(ops, env, {"local": f"{{type: filesystem, path: {env.root / 'repo'}}}"})
    target = victim(env.root)
    planted = env.root / "repo" / "conf" / "20261201T000000Z-conf-0000"
    planted.symlink_to(target)
    (target / "manifest.json").write_text(json.dumps(real_manifest(env, made)))
    listed = json.loads(ops("backup", "list", "-f", "json").out)
    assert [b["id"] for b in listed] == [made["id"]]  # the link is not a backup
    pruned = ops("backup", "prune")
    assert (target / "precious.txt").read_text() == "do not delete", pruned.err


def test_s3_keys_and_manifests_are_checked_the_same_way(ops: Cli, env: Env, s3: object) -> None:
    assert isinstance(s3, S3Server)
    bucket = s3.bucket(f"hostile-{env.database.replace('_', '-')}")
    offsite = (f"{{type: s3, endpoint: '{s3.endpoint}', bucket: {bucket}, prefix: p/, "
               f"access_key_id: {s3.ACCESS_KEY}, secret_access_key: {s3.SECRET_KEY}}}")  # fmt: skip
    made = files_backup(ops, env, {"local": f"{{type: filesystem, path: {env.root / 'repo'}}}",
                                   "offsite": offsite})  # fmt: skip
    manifest = real_manifest(env, made) | {"id": "../../escape"}
    client = s3.client()
    client.put_object(Bucket=bucket, Key="p/conf/20261201T000000Z-conf-0000/manifest.json",
                      Body=json.dumps(manifest).encode())  # fmt: skip
    client.put_object(Bucket=bucket, Key="p/conf/../../x/manifest.json", Body=b"{}")
    assert_refused_everywhere(ops, env, ("manifest refused",))


def test_a_new_repository_directory_is_private(ops: Cli, env: Env) -> None:
    files_backup(ops, env, {"local": f"{{type: filesystem, path: {env.root / 'new' / 'repo'}}}"})
    for path in (env.root / "new" / "repo", *(env.root / "new" / "repo").rglob("*")):
        if path.is_dir():
            assert path.stat().st_mode & 0o077 == 0, path  # owner only, as the docs say


def planted_backup(ops: Cli, env: Env, encryption: str, extra: str = "") -> str:
    """What someone with write access to the repository can make: a backup of their own
    files, in our repository, under any encryption they like."""
    evil = env.root / "evil-etc"
    evil.mkdir(exist_ok=True)
    (evil / "app.env").write_text("DATABASE_URL=postgresql://attacker@evil/db\n")
    lines = ["repositories:", f"  local: {{type: filesystem, path: {env.root / 'repo'}}}",
             f"encryption: {encryption}", "sources:",
             f"  conf: {{type: files, paths: [{evil}]}}"] + ([extra] if extra else [])  # fmt: skip
    saved = env.config.read_text()
    env.write("\n".join(lines))
    made = ops("backup", "run", "conf")
    assert made.code == 0, made.err
    env.config.write_text(saved)
    return made.out.strip()


def ours(env: Env, extra: str = "") -> None:
    etc = env.root / "etc"
    etc.mkdir(exist_ok=True)
    (etc / "app.env").write_text("WORKERS=4\n")
    env.write("\n".join([
        "repositories:", f"  local: {{type: filesystem, path: {env.root / 'repo'}}}",
        f"  other: {{type: filesystem, path: {env.root / 'other'}}}",
        f"encryption: {{recipients: [{env.recipient}]}}", "sources:",
        f"  conf: {{type: files, paths: [{etc}], repositories: [local]}}",
        *([extra] if extra else []),
    ]))  # fmt: skip


def refused_by_every_reader(ops: Cli, env: Env, backup_id: str, says: str) -> None:
    target = env.root / "restored"
    for args in (("backup", "verify", backup_id), ("backup", "copy", backup_id, "--to", "other"),
                 ("backup", "restore", backup_id, "--to", str(target), "--yes")):  # fmt: skip
        done = ops(*args, "-i", str(env.identity)) if args[1] != "copy" else ops(*args)
        assert done.code != 0, (args, done.out)
        assert says in done.out + done.err, (args, done.out, done.err)
    assert not target.exists()


def test_a_planted_unencrypted_backup_is_refused_when_recipients_are_configured(
    ops: Cli, env: Env
) -> None:
    ours(env)
    planted = planted_backup(ops, env, "none")
    refused_by_every_reader(ops, env, planted, "says its encryption is none")


def test_with_trusted_signers_only_our_signed_backups_restore(ops: Cli, env: Env) -> None:
    key = env.root / "signing.pem"
    made = ops("backup", "keygen", "--signing", "-o", str(key))
    assert made.code == 0, made.err
    public = made.out.strip()
    assert public.startswith("ed25519:") and key.stat().st_mode & 0o777 == 0o600
    signing = f"signing_key_file: {key}\ntrusted_signers: ['{public}']"
    ours(env, signing)
    mine = ops("backup", "run", "conf")
    assert mine.code == 0, mine.err
    assert ops("backup", "verify", mine.out.strip(), "-i", str(env.identity)).code == 0
    # someone else's backup, encrypted to our public recipient (anyone can do that)
    theirs = planted_backup(ops, env, f"{{recipients: [{env.recipient}]}}")
    refused_by_every_reader(ops, env, theirs, "not signed by a key in backups.trusted_signers")
    # and one of ours whose manifest was edited after signing
    manifest_path = next((env.root / "repo" / "conf").glob(f"{mine.out.strip()}/manifest.json"))
    doc = json.loads(manifest_path.read_text())
    doc["artifacts"][0]["sha256"] = "0" * 64
    manifest_path.write_text(json.dumps(doc))
    refused_by_every_reader(ops, env, mine.out.strip(), "not signed by a key")
