"""Redaction of credentials in evidence texts and objects (appliance/logic/redact.py)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from appliance.logic.redact import LAST_APPLIED, is_credential_key, redact_object, redact_text


@pytest.mark.parametrize(
    "name",
    ["DB_PASSWORD", "password", "apiKey", "APIKey", "SECRET_KEY", "token", "github_token", "passwd",
     "AWS_SECRET_ACCESS_KEY", "Authorization", "client-secret", "SMTP_PASS", "private_key", "api_key2"],
)  # fmt: skip
def test_credential_looking_names(name: str) -> None:
    assert is_credential_key(name)


@pytest.mark.parametrize(
    "name",
    ["KeyError", "LOG_LEVEL", "SHOP_DB_URL", "tokenExpirationSeconds", "secretKeyRef", "keyboard", "monkey",
     "PASSTHROUGH", "DATABASE_PASSWORD_FILE", "", "42"],
)  # fmt: skip
def test_names_that_are_not_credentials(name: str) -> None:
    assert not is_credential_key(name)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("db postgres://shop:pw1@db:5432/shop up", "db postgres://***@db:5432/shop up"),
        ("fetch https://token@github.com/x.git", "fetch https://***@github.com/x.git"),
        ("Authorization: Bearer abc.def-123", "Authorization: Bearer ***"),
        ("authorization=Basic dXNlcjpwdw==", "authorization=Basic ***"),
        ("sent bearer eyJhbGciOiJIUzI1NiJ9.x.y", "sent bearer ***"),
        ("DB_PASSWORD=hunter2 LOG_LEVEL=info", "DB_PASSWORD=*** LOG_LEVEL=info"),
        ('{"api_key": "k-123", "user": "bob"}', '{"api_key": "***", "user": "bob"}'),
        ("password: 'a b c'", "password: '***'"),
        ("token = os.environ['TOKEN']", "token = ***'TOKEN']"),
        ("KeyError: 'SHOP_DB_PASSWORD'", "KeyError: 'SHOP_DB_PASSWORD'"),
        (
            "missing required environment variable API_TOKEN",
            "missing required environment variable API_TOKEN",
        ),
        ("if a == b: secret_count:=3", "if a == b: secret_count:=3"),
        ("see http://example.com:8080/x", "see http://example.com:8080/x"),
    ],
)
def test_texts(text: str, expected: str) -> None:
    assert redact_text(text) == expected


def test_known_values_are_replaced_anywhere_longest_first() -> None:
    text = "token abcd-efgh and abcd-efgh-ijkl, short ab"
    assert redact_text(text, ["abcd-efgh", "abcd-efgh-ijkl", "ab"]) == "token *** and ***, short ab"
    assert redact_text("***", ["***"]) == "***"


def test_objects_keep_names_and_references_but_not_values() -> None:
    pod: dict[str, Any] = {
        "kind": "Pod",
        "metadata": {
            "name": "shop-api-1",
            "annotations": {LAST_APPLIED: '{"env":[{"name":"X","value":"s3cret"}]}', "team": "shop"},
        },
        "spec": {
            "automountServiceAccountToken": False,
            "containers": [
                {
                    "name": "api",
                    "env": [
                        {"name": "DATABASE_PASSWORD", "value": "s3cret"},
                        {"name": "LOG_LEVEL", "value": "info"},
                        {"name": "DB_URL", "value": "postgres://u:p4ss@db/x"},
                        {
                            "name": "API",
                            "value": "plain",
                            "valueFrom": {"secretKeyRef": {"name": "s", "key": "api"}},
                        },
                        {"name": "REF", "valueFrom": {"secretKeyRef": {"name": "s", "key": "token"}}},
                    ],
                    "volumeMounts": [{"name": "certs", "mountPath": "/certs"}],
                }
            ],
            "volumes": [{"name": "certs", "secret": {"secretName": "tls-key"}}],
            "affinity": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]},
        },
    }
    before = copy.deepcopy(pod)
    out = redact_object(pod)
    assert pod == before  # the input stays as it was
    assert out["metadata"]["annotations"] == {LAST_APPLIED: "***", "team": "shop"}
    assert out["spec"]["containers"][0]["env"] == [
        {"name": "DATABASE_PASSWORD", "value": "***"},
        {"name": "LOG_LEVEL", "value": "info"},
        {"name": "DB_URL", "value": "postgres://***@db/x"},
        {"name": "API", "value": "***", "valueFrom": {"secretKeyRef": {"name": "s", "key": "api"}}},
        {"name": "REF", "valueFrom": {"secretKeyRef": {"name": "s", "key": "token"}}},
    ]
    assert out["spec"]["volumes"] == before["spec"]["volumes"]
    assert out["spec"]["affinity"] == before["spec"]["affinity"]
    assert out["spec"]["automountServiceAccountToken"] is False


def test_configmap_data_and_secrets_are_redacted_by_key() -> None:
    config = {
        "kind": "ConfigMap",
        "data": {"DB_PASSWORD": "pw", "PORT": 8080, "EMPTY_TOKEN": "", "MODE": "x"},
    }
    assert redact_object(config)["data"] == {
        "DB_PASSWORD": "***",
        "PORT": 8080,
        "EMPTY_TOKEN": "",
        "MODE": "x",
    }
    secret = {"kind": "Secret", "data": {"user": "Ym9i", "anything": "eA=="}, "type": "Opaque"}
    assert redact_object(secret) == {
        "kind": "Secret",
        "data": {"user": "***", "anything": "***"},
        "type": "Opaque",
    }
    assert redact_object(["a password=x", 3, None, True]) == ["a password=***", 3, None, True]
    assert redact_object({"log": "line with k-123"}, known=["k-123"]) == {"log": "line with ***"}
