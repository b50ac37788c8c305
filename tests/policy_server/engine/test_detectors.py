"""Secret and PII detectors: per-detector tables of hits and look-alikes, redaction, speed.

Every token below is assembled from parts ("ghp_" + "a" * 36) so this file never contains a
string a secret scanner would report as a real credential.
"""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_server.engine import detectors
from policy_server.engine.detectors import (
    DETECTORS,
    PII_DETECTORS,
    PLACEHOLDERS,
    find_pii,
    find_secrets,
    redact,
)

B40 = "Zq8/mN4+" * 5  # 40 chars of mixed-case base64, the shape of an AWS secret key
PEM_BODY = "MIIEow" + "IBAAKCAQEA" * 6 + "\n" + "q1W2e3R4t5Y6" * 4 + "\n"


def pem(kind: str, body: str = PEM_BODY, newline: str = "\n") -> str:
    label = f"{kind} PRIVATE KEY" if kind else "PRIVATE KEY"
    block = " BLOCK" if kind == "PGP" else ""
    return (
        f"-----BEGIN {label}{block}-----{newline}"
        + body.replace("\n", newline)
        + f"-----END {label}{block}-----"
    )


JWT = "eyJ" + "hbGciOiJIUzI1NiJ9" + ".eyJ" + "zdWIiOiIxMjM0NTY3ODkwIn0" + "." + "Sfl_Kx-wRJ4fwpM"
PYPI = "pypi-" + "AgEIcHlwaS5vcmc" + "CJDk3Yz" * 10

# (detector, text, the exact substring it must report)
HITS = [
    ("aws_access_key_id", "key AKIA" + "ABCDEFGHIJ234567" + " here", "AKIA" + "ABCDEFGHIJ234567"),
    (
        "aws_access_key_id",
        "AWS_ACCESS_KEY_ID=ASIA" + "Z2Y3X4W5V6U7T8S9",
        "ASIA" + "Z2Y3X4W5V6U7T8S9",
    ),
    ("aws_access_key_id", '{"id": "AKIA' + "0123456789ABCDEF" + '"}', "AKIA" + "0123456789ABCDEF"),
    ("aws_secret_access_key", "aws_secret_access_key = " + B40, B40),
    ("aws_secret_access_key", 'export AWS_SECRET_ACCESS_KEY="' + B40 + '"', B40),
    ("aws_secret_access_key", '"SecretAccessKey": "' + B40 + '",', B40),
    ("aws_secret_access_key", "aws configure set aws_secret_access_key " + B40, B40),
    ("github_token", "token ghp_" + "a" * 36, "ghp_" + "a" * 36),
    ("github_token", "GH_TOKEN=gho_" + "A1b2" * 9 + "\n", "gho_" + "A1b2" * 9),
    ("github_token", "ghs_" + "Z9y8" * 9, "ghs_" + "Z9y8" * 9),
    ("github_token", "pat github_pat_" + "A1_" * 27 + "B", "github_pat_" + "A1_" * 27 + "B"),
    (
        "slack_token",
        "xoxb-" + "1234567890-98765-" + "AbCd" * 6,
        "xoxb-1234567890-98765-" + "AbCd" * 6,
    ),
    ("slack_token", "SLACK=xoxp-" + "1" * 12, "xoxp-" + "1" * 12),
    ("slack_token", "'xoxa-2-" + "Q7w8E9r0" * 2 + "'", "xoxa-2-" + "Q7w8E9r0" * 2),
    ("anthropic_api_key", "sk-ant-api03-" + "Ab1_" * 20, "sk-ant-api03-" + "Ab1_" * 20),
    ("anthropic_api_key", "ANTHROPIC_API_KEY=sk-ant-" + "x9" * 15, "sk-ant-" + "x9" * 15),
    ("anthropic_api_key", '"sk-ant-admin01-' + "Qz-7" * 6 + '"', "sk-ant-admin01-" + "Qz-7" * 6),
    ("openai_api_key", "sk-" + "Ab12" * 12, "sk-" + "Ab12" * 12),
    ("openai_api_key", "OPENAI_API_KEY=sk-proj-" + "Ab1_-Z" * 12, "sk-proj-" + "Ab1_-Z" * 12),
    ("openai_api_key", "key: sk-svcacct-" + "T3Bl" * 8 + " end", "sk-svcacct-" + "T3Bl" * 8),
    ("google_api_key", "AIza" + "Sy" + "A1b2C3d4" * 4 + "E", "AIza" + "Sy" + "A1b2C3d4" * 4 + "E"),
    ("google_api_key", "key=AIza" + "-_9z" * 8 + "abc&x=1", "AIza" + "-_9z" * 8 + "abc"),
    ("google_api_key", '"AIza' + "0" * 35 + '"', "AIza" + "0" * 35),
    ("stripe_key", "sk_live_" + "Ab12" * 6, "sk_live_" + "Ab12" * 6),
    ("stripe_key", "STRIPE_KEY=rk_live_" + "Zy98" * 8, "rk_live_" + "Zy98" * 8),
    ("stripe_key", 'stripe.api_key = "sk_live_' + "51Hq" * 5 + '"', "sk_live_" + "51Hq" * 5),
    ("private_key", pem("RSA") + "\nbye", pem("RSA")),
    ("private_key", "key:\n" + pem("OPENSSH"), pem("OPENSSH")),
    ("private_key", pem("EC"), pem("EC")),
    ("private_key", pem("PGP"), pem("PGP")),
    ("private_key", pem(""), pem("")),
    ("private_key", '{"key": "' + pem("RSA", newline="\\n") + '"}', pem("RSA", newline="\\n")),
    ("private_key", "truncated " + pem("RSA")[:120], pem("RSA")[:120]),
    ("jwt", "Authorization: Bearer " + JWT, JWT),
    ("jwt", "token=" + JWT + "&x=1", JWT),
    ("jwt", JWT.rsplit(".", 1)[0] + ". (unsigned)", JWT.rsplit(".", 1)[0] + "."),
    ("npm_token", "npm_" + "Ab12" * 9, "npm_" + "Ab12" * 9),
    ("npm_token", "//registry.npmjs.org/:_authToken=npm_" + "z" * 36, "npm_" + "z" * 36),
    ("npm_token", "NPM_TOKEN='npm_" + "9Xy" * 12 + "'", "npm_" + "9Xy" * 12),
    ("pypi_token", PYPI, PYPI),
    ("pypi_token", "password = " + PYPI, PYPI),
    ("pypi_token", "TWINE_PASSWORD='" + PYPI + "'", PYPI),
    ("gitlab_token", "glpat-" + "Ab12_-" * 4, "glpat-" + "Ab12_-" * 4),
    ("gitlab_token", "GITLAB_TOKEN=glpat-" + "q1W2e3R4t5Y6u7I8o9P0", "glpat-q1W2e3R4t5Y6u7I8o9P0"),
    ("gitlab_token", "glpat-" + "Ab1" * 9 + ".01.abc123 ok", "glpat-" + "Ab1" * 9 + ".01.abc123"),
    ("generic_password_assignment", "DB_PASSWORD=s3cr3tP4ss", "s3cr3tP4ss"),
    ("generic_password_assignment", '{"password": "Tr0ub4dor&3"}', "Tr0ub4dor&3"),
    ("generic_password_assignment", "mysql_pwd: 'hunter2hunter2'", "hunter2hunter2"),
    ("generic_password_assignment", "login --password=Pa55word! --user x", "Pa55word!"),
    ("generic_password_assignment", "PGPASSWORD=ab12cd34ef psql", "ab12cd34ef"),
    ("url_credentials", "postgres://app:Pa55w0rd!@db:5432/x", "Pa55w0rd!"),
    ("url_credentials", "git clone https://bot:Ab12Cd34Ef56@git.corp/x", "Ab12Cd34Ef56"),
    ("url_credentials", "redis://:s3cr3t-v4lue@cache:6379", "s3cr3t-v4lue"),
]

# (detector, text that must not produce a finding for that detector)
MISSES = [
    ("aws_access_key_id", "AKIAIOSFODNN7EXAMPLE"),
    ("aws_access_key_id", "AKIA" + "ABCDEF"),
    ("aws_access_key_id", "xAKIA" + "ABCDEFGHIJ234567"),
    ("aws_access_key_id", "AKIA" + "abcdefghij234567"),
    ("aws_access_key_id", 'git commit -m "fix aws key rotation"'),
    ("aws_secret_access_key", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("aws_secret_access_key", "checksum " + B40),  # no key name nearby
    ("aws_secret_access_key", "secret: " + "0123456789abcdef" * 2 + "01234567"),  # a git SHA
    ("aws_secret_access_key", "aws_secret_access_key = " + B40[:39]),
    ("aws_secret_access_key", 'git commit -m "rotate the secret key"'),
    ("github_token", "ghp_" + "a" * 35),
    ("github_token", "ghx_" + "a" * 36),
    ("github_token", "xghp_" + "a" * 36),
    ("github_token", "ghp_" + "x" * 36),  # placeholder
    ("slack_token", "xoxb-your-token-here"),
    ("slack_token", "xoxb-123"),
    ("slack_token", "xoxz-" + "1" * 12),
    ("anthropic_api_key", "sk-ant-short"),
    ("anthropic_api_key", "sk-ant-api03-your-key-goes-here-please"),
    ("openai_api_key", "sk-ant-api03-" + "Ab1_" * 20),  # Anthropic, not OpenAI
    ("openai_api_key", "pip install sk-learn-compatible-estimator-api"),
    ("openai_api_key", "sk-" + "Ab12" * 4),
    ("openai_api_key", "task-" + "Ab12" * 6),
    ("google_api_key", "AIza" + "x1" * 5),
    ("google_api_key", "AIza" + "A" * 36),
    ("google_api_key", "AIzaSy" + "EXAMPLE" * 5),
    ("stripe_key", "sk_test_" + "Ab12" * 6),
    ("stripe_key", "sk_live_" + "Ab12"),
    ("stripe_key", "sk_live_" + "x" * 24),
    ("private_key", "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A\n"),
    ("private_key", "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIE\n"),
    ("private_key", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG user@host"),
    ("jwt", "eyJhbGc"),
    ("jwt", "eyJ" + "hbGciOiJIUzI1NiJ9" + ".notapayload.sig"),
    ("jwt", "x" + JWT),
    ("npm_token", "npm_config_registry=https://registry.npmjs.org/"),
    ("npm_token", "npm_" + "Ab12" * 8),
    ("npm_token", "npm_" + "Ab12" * 9 + "Z"),
    ("pypi_token", "pypi-AgEIcHlwaS5vcmc" + "CJ"),
    ("pypi_token", "pip install pypi-simple-index"),
    ("gitlab_token", "glpat-short"),
    ("gitlab_token", "glpat-" + "x" * 20),
    ("generic_password_assignment", "password = get_password()"),
    ("generic_password_assignment", "password: SecretStr"),
    ("generic_password_assignment", "PASSWORD=${DB_PASSWORD}"),
    ("generic_password_assignment", 'password: "changeme123"'),
    ("generic_password_assignment", "password=hunter2"),
    ("generic_password_assignment", "PWD=/home/user/project"),
    ("generic_password_assignment", "password = self.password"),
    ("generic_password_assignment", "password: <your-password>"),
    ("generic_password_assignment", "password: correcthorsebatterystaple"),
    ("url_credentials", "postgres://user:password@localhost/db"),
    ("url_credentials", "https://user:${TOKEN}@host/x"),
    ("url_credentials", "git@github.com:org/repo.git"),
]


def found(text, name):
    return [text[start:end] for _, start, end in find_secrets(text, [name])]


@pytest.mark.parametrize(("name", "text", "secret"), HITS)
def test_detector_hits(name, text, secret):
    assert found(text, name) == [secret]


@pytest.mark.parametrize(("name", "text"), MISSES)
def test_detector_look_alikes(name, text):
    assert found(text, name) == []


def test_every_detector_has_three_hits_and_two_look_alikes():
    for name in DETECTORS:
        assert sum(row[0] == name for row in HITS) >= 3, name
        assert sum(row[0] == name for row in MISSES) >= 2, name


def test_placeholders_never_count():
    for value in PLACEHOLDERS:
        assert find_secrets(f"value {value} and key={value}") == ()


def test_findings_are_sorted_tuples():
    text = "a " + JWT + " b sk_live_" + "Ab12" * 6 + " c ghp_" + "a" * 36
    result = find_secrets(text)
    assert isinstance(result, tuple)
    assert [name for name, _, _ in result] == ["jwt", "stripe_key", "github_token"]
    assert [start for _, start, _ in result] == sorted(start for _, start, _ in result)


def test_names_restrict_the_detectors():
    text = "ghp_" + "a" * 36 + " " + JWT
    assert [f[0] for f in find_secrets(text, ["jwt"])] == ["jwt"]
    assert [f[0] for f in find_secrets(text, "github_token")] == ["github_token"]  # one name
    assert find_secrets(text, []) == ()


def test_unknown_detector_is_a_clear_error():
    with pytest.raises(KeyError, match=r"unknown detector 'gihtub_token'; known: .*github_token"):
        find_secrets("x", ["gihtub_token"])
    with pytest.raises(KeyError, match="unknown detector 'email'"):
        find_secrets("x", ["email"])  # PII names live in their own table
    with pytest.raises(KeyError, match="known: credit_card, email"):
        find_pii("x", ["aws_access_key_id"])


def test_redact_replaces_values_and_keeps_key_names():
    text = f"DB_PASSWORD=s3cr3tP4ss token ghp_{'a' * 36} mail bob@corp.io"
    assert redact(text) == (
        "DB_PASSWORD=[REDACTED:generic_password_assignment] "
        "token [REDACTED:github_token] mail bob@corp.io"
    )
    assert redact(text, pii=True).endswith("mail [REDACTED:email]")


def test_redact_merges_overlapping_findings():
    text = "password = " + PYPI  # generic_password_assignment and pypi_token on the same span
    assert redact(text) == "password = [REDACTED:generic_password_assignment]"


def test_redact_whole_private_key_block():
    assert redact("k=" + pem("OPENSSH") + "\nnext line!") == "k=[REDACTED:private_key]\nnext line!"


@pytest.mark.parametrize(("name", "text", "secret"), HITS)
def test_redact_is_idempotent_on_hits(name, text, secret):
    once = redact(text, pii=True)
    assert secret not in once
    assert redact(once, pii=True) == once


def luhn_complete(prefix: str) -> str:
    """``prefix`` plus the Luhn check digit."""
    for check in "0123456789":
        digits = [int(c) for c in prefix + check]
        total = sum(
            d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2)
            for i, d in enumerate(reversed(digits))
        )
        if total % 10 == 0:
            return prefix + check
    raise AssertionError


def iban(country: str, bban: str) -> str:
    """An IBAN with correct mod-97 check digits."""
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{country}{98 - int(numeric) % 97:02d}{bban}"


def grouped(value: str, sep: str = " ") -> str:
    return sep.join(value[i : i + 4] for i in range(0, len(value), 4))


VISA = luhn_complete("4" + "539148803436" + "46")  # 16 digits
AMEX = luhn_complete("37" + "828224631000")  # 15 digits
MASTERCARD = luhn_complete("5" + "10510510510510")
BAD_VISA = VISA[:-1] + str((int(VISA[-1]) + 1) % 10)
DE_IBAN = iban("DE", "370400440532013000")
GB_IBAN = iban("GB", "NWBK60161331926819")
NO_IBAN = iban("NO", "86011117947")

PII_HITS = [
    ("email", "contact alice.smith+tag@corp.co.uk today", "alice.smith+tag@corp.co.uk"),
    ("email", "<bob@mail.internal.io>", "bob@mail.internal.io"),
    ("email", "to: x_y-z@sub.domain.dev, cc", "x_y-z@sub.domain.dev"),
    ("phone", "call +1 415 555 2671 now", "+1 415 555 2671"),
    ("phone", "tel:+442079460958", "+442079460958"),
    ("phone", "mobile (+49-151-2345-6789)", "+49-151-2345-6789"),
    ("phone", "+33 (1) 42 68 53 00", "+33 (1) 42 68 53 00"),
    ("credit_card", f"card {VISA} exp", VISA),
    ("credit_card", f"card {grouped(VISA)} exp", grouped(VISA)),
    (
        "credit_card",
        f"amex {AMEX[:4]}-{AMEX[4:10]}-{AMEX[10:]}",
        f"{AMEX[:4]}-{AMEX[4:10]}-{AMEX[10:]}",
    ),
    ("credit_card", f"mc:{MASTERCARD}", MASTERCARD),
    ("us_ssn", "SSN 219-09-9999 on file", "219-09-9999"),
    ("us_ssn", "ssn=536-22-1234", "536-22-1234"),
    ("us_ssn", "(001-01-0001)", "001-01-0001"),
    ("iban", f"pay {DE_IBAN} please", DE_IBAN),
    ("iban", f"IBAN: {grouped(GB_IBAN)}", grouped(GB_IBAN)),
    ("iban", f"NO: {NO_IBAN}.", NO_IBAN),
]

PII_MISSES = [
    ("email", "git@github.com:org/repo.git"),
    ("email", "user@example.com"),
    ("email", "npm i @types/node@20.1.0"),
    ("phone", "version 1.2.3+4"),
    ("phone", "+12 short"),
    ("phone", "1e+1234567890"),
    ("phone", "+1234567890123456789"),  # more digits than E.164 allows
    ("credit_card", f"card {BAD_VISA}"),  # fails Luhn
    ("credit_card", "0000 0000 0000 0000"),
    ("credit_card", "order 1234567890123"),
    ("credit_card", f"v{VISA}"),
    ("us_ssn", "123-45-6789"),  # the SSA advertising number
    ("us_ssn", "000-12-3456"),
    ("us_ssn", "666-12-3456"),
    ("us_ssn", "912-12-3456"),
    ("us_ssn", "219-00-9999"),
    ("us_ssn", "2019-09-9999"),
    ("us_ssn", "219099999"),
    ("iban", DE_IBAN[:2] + str((int(DE_IBAN[2:4]) + 1) % 100).zfill(2) + DE_IBAN[4:]),
    ("iban", DE_IBAN + "0"),  # wrong length for DE
    ("iban", "XX00" + "1234" * 4),
]


def pii_found(text, name):
    return [text[start:end] for _, start, end in find_pii(text, [name])]


@pytest.mark.parametrize(("name", "text", "value"), PII_HITS)
def test_pii_hits(name, text, value):
    assert pii_found(text, name) == [value]


@pytest.mark.parametrize(("name", "text"), PII_MISSES)
def test_pii_look_alikes(name, text):
    assert pii_found(text, name) == []


def test_every_pii_detector_has_hits_and_look_alikes():
    for name in PII_DETECTORS:
        assert sum(row[0] == name for row in PII_HITS) >= 3, name
        assert sum(row[0] == name for row in PII_MISSES) >= 2, name


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        (luhn_complete("4" * 15), True),
        (luhn_complete("6011" + "0009" * 2 + "990"), True),
        (luhn_complete("35" + "30111333300"), True),
        (luhn_complete("4" + "1" * 17), True),  # 19 digits
        (luhn_complete("1" * 15), False),  # no card issuer starts with 1
        ("4" * 12, False),  # too short
        (BAD_VISA, False),
    ],
)
def test_luhn_validation(number, valid):
    assert bool(find_pii(number, ["credit_card"])) is valid


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        (iban("FR", "20041010050500013M02606"), True),
        (iban("BE", "539007547034"), True),
        (iban("CH", "0076201162385295" + "7"), True),
        (iban("MT", "MALT011000012345MTLCAST001S"), True),
        (iban("DE", "37040044053201300"), False),  # 21 chars: DE needs 22
        (iban("ZZ", "370400440532013000"), False),  # no such country
        ("DE00370400440532013000", False),
    ],
)
def test_iban_validation(value, valid):
    assert bool(find_pii(value, ["iban"])) is valid


TOKEN_PARTS = [
    "AKIA", "ASIA", "sk-", "sk-ant-", "proj-", "ghp_", "github_pat_", "xoxb-", "AIza", "sk_live_",
    "eyJ", ".", "npm_", "pypi-AgEIcHlwaS5vcmc", "glpat-", "password", "pwd", "secret", "=", ": ",
    "://", "@", "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----", "Ab12", "Zz",
    "9", "0", "4", "-", "_", "+", " ", "\n", '"', "'", "[REDACTED:jwt]", "EXAMPLE", "DE89", "İ",
]  # fmt: skip
tokenish = st.lists(st.sampled_from(TOKEN_PARTS), max_size=60).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=300), tokenish))
def test_never_raises_and_redact_is_idempotent(text):
    for name, start, end in find_secrets(text) + find_pii(text):
        assert 0 <= start < end <= len(text)
        assert name in DETECTORS or name in PII_DETECTORS
    for pii in (False, True):
        once = redact(text, pii=pii)
        assert redact(once, pii=pii) == once


def _finditer_reference(text):
    """What ``find_secrets`` must return: every detector's ``finditer`` over the whole text."""
    findings = []
    for name, spec in detectors._SECRET_SPECS.items():
        for match in spec.pattern.finditer(text):
            start, end = detectors._value_span(match)
            value = text[start:end]
            if detectors.is_placeholder(value) or (spec.valid and not spec.valid(value)):
                continue
            findings.append((name, start, end))
    return tuple(sorted(findings, key=lambda f: (f[1], -f[2], f[0])))


@settings(max_examples=300, deadline=None)
@given(tokenish)
def test_keyword_prefilter_changes_nothing(text):
    # find_secrets tries anchored patterns only at keyword positions; that must be invisible.
    assert find_secrets(text) == _finditer_reference(text)


@pytest.mark.parametrize(
    "text",
    [
        "-eyJ" * 25_000,
        "password=" + "a" * 100_000,
        "secret " * 15_000,
        "-----BEGIN RSA PRIVATE KEY-----" * 3_000,
        "-----BEGIN RSA PRIVATE KEY-----\n" + "A" * 100_000,
        "a@" * 50_000,
        "1 " * 50_000,
        "AB12 " * 20_000,
        "sk-" + "a" * 100_000 + "-",
        "://" * 30_000,
    ],
)
def test_hostile_input_stays_linear(text):
    started = time.perf_counter()
    redact(text, pii=True)
    assert time.perf_counter() - started < 2.0


def test_typical_prompt_is_fast():
    prompt = (
        "Please refactor the upload handler in src/api/upload.py so retries use exponential "
        "backoff, add tests for the password reset flow, and check that the secret rotation job "
        "still passes. The failing run is https://ci.example.org/runs/42 and the logs say "
        "'connection reset by peer' after 30s. "
    ) * 7
    prompt = prompt[:2000]
    find_secrets(prompt)
    runs = 200
    started = time.perf_counter()
    for _ in range(runs):
        find_secrets(prompt)
    per_call = (time.perf_counter() - started) / runs
    assert per_call < 0.001  # ~30 µs measured; the bound only catches a pathological regression


def test_tables_are_compiled_patterns():
    for table in (DETECTORS, PII_DETECTORS):
        assert all(isinstance(p, re.Pattern) for p in table.values())
    assert not set(DETECTORS) & set(PII_DETECTORS)
