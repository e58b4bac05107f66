from __future__ import annotations

from opsbook.secrets import Redactor, mask_dsn, mask_url, secrets_in


def test_urls_print_with_the_password_masked() -> None:
    assert mask_dsn("postgresql://app:s3cr%40t@db:5432/app") == "postgresql://app:***@db:5432/app"
    assert mask_url("redis://:hunter22@cache:6379/0") == "redis://:***@cache:6379/0"
    assert mask_url("https://x.example/health?token=abc123&x=1") == (
        "https://x.example/health?token=***&x=1"
    )
    assert mask_url("http://127.0.0.1:8000/health") == "http://127.0.0.1:8000/health"


def test_keyword_dsns_mask_the_password() -> None:
    assert mask_dsn("host=db password=pa55word dbname=app") == "host=db password=*** dbname=app"
    assert mask_dsn("host=db password='with space' user=x") == "host=db password=*** user=x"


def test_redactor_scrubs_secret_values_wherever_they_appear() -> None:
    secrets = secrets_in("postgresql://app:s3cr%40t@db/app") + secrets_in("password=kv-secret")
    redact = Redactor(secrets)
    text = "FATAL: user app with s3cr@t and s3cr%40t and kv-secret failed"
    out = redact(text)
    assert "s3cr" not in out
    assert "kv-secret" not in out
    assert out.count("***") == 3
