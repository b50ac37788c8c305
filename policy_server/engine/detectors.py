"""Named secret and PII detectors for prompts, tool inputs and audit redaction (R11, R13).

Policies name detectors (``secret: [github_token, aws_access_key_id]``) instead of pasting regexes,
so one tested table decides what counts as a secret, and the audit writer redacts with the very
same table before anything is stored ("always redact before storing").

Design choices:

- Speed (``find_secrets`` on a 2,000-character prompt: ~20-40 µs): every pattern either starts
  with a literal, which the regex engine finds with a fast substring search, or is tried only
  where one of its keywords occurs (``password``/``secret`` in any case). No pattern is ever
  tried at every position of the text.
- Hostile input stays linear: quantifiers are bounded or their matches cannot start inside a
  run they already scanned (see ``jwt``).
- Assignment-style detectors (``password=...``, ``aws_secret_access_key=...``, URL credentials)
  report only the value (the ``secret`` group), so redaction keeps the key name readable.
- Documented placeholders (``AKIAIOSFODNN7EXAMPLE``, ``your-token-here``, ``xxxx``...) never count:
  agents quote documentation all the time, and a deny on a placeholder teaches users to ignore us.
- Card numbers and IBANs are checksum-validated (Luhn, ISO 7064 mod-97); a random digit run is
  not PII.
"""

from __future__ import annotations

import re
from typing import Callable, Dict, Iterable, Iterator, List, NamedTuple, Optional, Pattern, Tuple

Finding = Tuple[str, int, int]


class _Spec(NamedTuple):
    """A detector: its pattern, how to avoid running it, and a check on what it found.

    Without ``keywords`` the pattern starts with a literal (or a narrow class), so the regex
    engine's own prefix scan skips most of the text. With ``keywords`` the pattern runs only if
    one occurs; when ``anchored`` every match starts at a keyword, so it is tried only there.
    """

    pattern: Pattern[str]
    keywords: Tuple[str, ...] = ()
    fold: bool = False  # keywords are lower-case and looked up in the lower-cased text
    valid: Optional[Callable[[str], bool]] = None  # extra check on the reported value
    anchored: bool = True


# Exact values published in vendor documentation as examples; they must never count.
PLACEHOLDERS = frozenset(
    {
        "AKIAIOSFODNN7EXAMPLE",
        "ASIAIOSFODNN7EXAMPLE",
        "AKIAI44QH8DHBEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
        "123-45-6789",  # the SSA's "never issued" advertising SSN
        "078-05-1120",  # the Woolworth wallet-card SSN
    }
)

# Substrings that mark a value as a placeholder rather than a credential. Short markers are
# matched in one case only (xxxxxx or XXXXXX, not xXxXxX) so that random base64 in a real key
# almost never contains one by chance.
_PLACEHOLDER_MARKERS = re.compile(
    r"(?i:example|placeholder|redacted|changeme|your[-_ ].*[-_ ]here)"
    r"|x{6,}|X{6,}|dummy|DUMMY|<[^>]*>|\*{3,}"
)

# Values that are code, templates or variable references, not literal passwords.
_CODE_LIKE = re.compile(
    r"^[$%{<\[(@&*]|[(){}\[\]]|^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$|^(?:null|none|true|false)$",
    re.IGNORECASE,
)
_DIGIT_OR_SYMBOL = re.compile(r"[0-9!#$%&*+,/:;<=>?@^~|\\]")


def _plausible_password(value: str) -> bool:
    """A literal, non-trivial password: 8+ chars, a digit or symbol, and not code or a template.

    Deliberately conservative (``correcthorsebattery`` is missed): the cost of a false deny on
    ``password = get_password()`` or ``password: SecretStr`` is higher than a missed log line.
    """
    return len(value) >= 8 and not _CODE_LIKE.search(value) and bool(_DIGIT_OR_SYMBOL.search(value))


def _word_start(literal: str, width: int, before: str = r"\w") -> str:
    r"""``literal`` (``width`` characters long) not preceded by a ``before`` character.

    Spelled as a look-behind *after* the literal rather than a leading ``\b``: a pattern that
    starts with a literal lets the regex engine jump from one occurrence to the next, which makes
    a scan of a 2,000-character prompt ~1 µs instead of ~25 µs.
    """
    return f"{literal}(?<!{before}.{{{width}}})"


_B64_40 = r"(?=[A-Za-z0-9/+]{0,39}[A-Z])(?=[A-Za-z0-9/+]{0,39}[a-z])[A-Za-z0-9/+]{40}"
_ASSIGN = r"""["']?[ \t]*(?::=|=>|[:=])[ \t]*"""

_SECRET_SPECS: Dict[str, _Spec] = {
    "aws_access_key_id": _Spec(re.compile(_word_start("(?:AKIA|ASIA)", 4) + r"[0-9A-Z]{16}\b")),
    # Only next to a "secret" key name: a bare 40-char base64 run is far too common to flag.
    "aws_secret_access_key": _Spec(
        re.compile(
            r"(?i:secret(?:[_\-. ]?access)?(?:[_\-. ]?key)?)"
            r"(?:" + _ASSIGN + r"""["']?|[ \t]+)"""
            r"(?P<secret>" + _B64_40 + r")(?![A-Za-z0-9/+=])"
        ),
        ("secret",),
        fold=True,
    ),
    "github_token": _Spec(
        re.compile(
            "(?:" + _word_start("gh[pousr]_", 4) + "[A-Za-z0-9]{36,251}"
            "|" + _word_start("github_pat_", 11) + r"[A-Za-z0-9_]{82,244})\b"
        )
    ),
    "slack_token": _Spec(re.compile(_word_start("xox", 3) + "[abprs]-[A-Za-z0-9-]{10,}")),
    "anthropic_api_key": _Spec(re.compile(_word_start("sk-ant-", 7) + "[A-Za-z0-9_-]{20,}")),
    # Legacy keys are sk- + alphanumerics; project/service keys carry a named prefix. Requiring
    # one of the two keeps kebab-case words (``sk-learn-compatible-...``) and sk-ant- out.
    "openai_api_key": _Spec(
        re.compile(
            _word_start("sk-", 3)
            + r"(?:(?:proj|svcacct|admin|None)-[A-Za-z0-9_-]{20,}|[A-Za-z0-9]{20,}(?![\w-]))"
        )
    ),
    "google_api_key": _Spec(re.compile(_word_start("AIza", 4) + r"[0-9A-Za-z_-]{35}(?![\w-])")),
    "stripe_key": _Spec(
        re.compile(_word_start("(?:sk|rk)_live_", 8) + "[0-9A-Za-z]{16,}"),
        ("sk_live_", "rk_live_"),
    ),
    # The whole block when present (JSON-escaped newlines too), else through the trailing base64.
    "private_key": _Spec(
        re.compile(
            r"-----BEGIN (?P<kind>(?:[A-Z0-9]+ )*)PRIVATE KEY(?P<blk> BLOCK|)-----"
            r"(?:[A-Za-z0-9+/=\s:,.\\-]*?-----END (?P=kind)PRIVATE KEY(?P=blk)-----"
            r"|[A-Za-z0-9+/=\s:,.\\-]*)"
        )
    ),
    # Not after "-" either: a run like "-eyJ-eyJ-eyJ..." would otherwise offer a start every
    # 4 characters, each rescanning the rest of the run (quadratic time on hostile input).
    "jwt": _Spec(
        re.compile(
            _word_start("eyJ", 3, before=r"[\w-]")
            + r"[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*"
        )
    ),
    "npm_token": _Spec(re.compile(_word_start("npm_", 4) + r"[A-Za-z0-9]{36}\b")),
    "pypi_token": _Spec(re.compile(_word_start("pypi-", 5) + "AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}")),
    "gitlab_token": _Spec(
        re.compile(_word_start("glpat-", 6) + r"[A-Za-z0-9_-]{20,}(?:\.[A-Za-z0-9_-]+)*")
    ),
    # ``DB_PASSWORD=...``, ``"password": "..."``, ``db_pwd: ...``: the value only.
    "generic_password_assignment": _Spec(
        re.compile(
            r"(?:(?i:pass(?:word|wd|phrase))|(?<=[_-])(?i:pwd))" + _ASSIGN + "(?:"
            r"""(?P<q>["'])(?P<secret>[^"'\s]{1,256})(?P=q)"""
            r"""|(?P<secret_bare>[^\s"'`,;&)}\]]{1,256}))"""
        ),
        ("pass", "pwd"),
        fold=True,
        valid=_plausible_password,
    ),
    # ``scheme://user:password@host``: the password part only.
    "url_credentials": _Spec(
        re.compile(r"://[^\s/:@]*:(?P<secret>[^\s/@]{1,256})@"), valid=_plausible_password
    ),
}


def _luhn_ok(value: str) -> bool:
    """Luhn checksum plus an issuer prefix (2-6) and 13-19 digits, so most digit runs fail."""
    digits = [int(c) for c in value if c.isdigit()]
    if not 13 <= len(digits) <= 19 or digits[0] not in (2, 3, 4, 5, 6) or len(set(digits)) == 1:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


# ISO 13616 registry: IBAN length per country.
_IBAN_LENGTHS: Dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28,
    "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22,
    "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23,
    "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
    "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip


def _iban_ok(value: str) -> bool:
    """Registry length for the country and ISO 7064 mod-97 == 1."""
    compact = value.replace(" ", "")
    if _IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def _ssn_ok(value: str) -> bool:
    """Area, group and serial the SSA can issue (no 000/666/9xx area, 00 group, 0000 serial)."""
    area, group, serial = value.split("-")
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def _e164_ok(value: str) -> bool:
    """E.164 allows at most 15 digits; fewer than 8 is a version number or an extension."""
    return 8 <= sum(c.isdigit() for c in value) <= 15


_PII_SPECS: Dict[str, _Spec] = {
    "email": _Spec(
        re.compile(
            r"(?<![\w.%+-])[A-Za-z0-9._%+-]{1,64}@"
            r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}\b(?!:)"
        ),
        ("@",),
        anchored=False,
    ),
    # Conservative: international form with a leading + only.
    "phone": _Spec(
        re.compile(
            r"\+(?<![\w+].)[1-9][0-9]{0,2}(?:[ .-]?(?:\([0-9]{1,4}\)|[0-9]{1,4})){1,5}(?![\w-])"
        ),
        valid=_e164_ok,
    ),
    "credit_card": _Spec(
        re.compile(r"[0-9](?<![\w.-][0-9])(?:[ -]?[0-9]){12,18}(?![\w.-])"), valid=_luhn_ok
    ),
    # Dashed form only (a bare 9-digit run is anything).
    "us_ssn": _Spec(
        re.compile(r"[0-9](?<![\w-][0-9])[0-9][0-9]-[0-9][0-9]-[0-9]{4}(?![\w-])"), valid=_ssn_ok
    ),
    "iban": _Spec(
        re.compile(
            r"[A-Z](?<!\w[A-Z])[A-Z][0-9]{2}"
            r"(?:(?: [A-Z0-9]{4})+(?: [A-Z0-9]{1,3})?|[A-Z0-9]{11,30})\b"
        ),
        valid=_iban_ok,
    ),
}

# Every secret match contains one of these (case-folded for the keyword detectors), so text
# without any of them skips all the detectors: one C-level search instead of fifteen. Most audited
# strings (commands, paths, descriptions) take this exit. A detector added above must add its
# literal here; ``test_keyword_prefilter_changes_nothing`` and the hit corpus catch a miss.
_SECRET_GATE = re.compile(
    r"AKIA|ASIA|gh[pousr]_|github_pat_|xox|sk-|AIza|[sr]k_live_|-----BEGIN |eyJ|npm_|pypi-"
    r"|glpat-|://|(?i:secret|pass|pwd)"
)

DETECTORS: Dict[str, Pattern[str]] = {name: spec.pattern for name, spec in _SECRET_SPECS.items()}
PII_DETECTORS: Dict[str, Pattern[str]] = {name: spec.pattern for name, spec in _PII_SPECS.items()}


def is_placeholder(value: str) -> bool:
    """True for documented example values and obvious fill-in-the-blank markers."""
    return value in PLACEHOLDERS or _PLACEHOLDER_MARKERS.search(value) is not None


def _selected(specs: Dict[str, _Spec], names: Optional[Iterable[str]]) -> List[Tuple[str, _Spec]]:
    """The specs to run; unknown names fail loudly so a typo in a policy is not a silent no-op."""
    if names is None:
        return list(specs.items())
    if isinstance(names, str):
        names = (names,)
    selected = []
    for name in names:
        if name not in specs:
            known = ", ".join(sorted(specs))
            raise KeyError(f"unknown detector {name!r}; known: {known}")
        selected.append((name, specs[name]))
    return selected


def _value_span(match: re.Match) -> Tuple[int, int]:
    """The span of the ``secret*`` group that matched, else the whole match."""
    for group, value in match.groupdict().items():
        if group.startswith("secret") and value is not None:
            return match.span(group)
    return match.span()


def _keyword_starts(haystack: str, keywords: Tuple[str, ...]) -> List[int]:
    """Every index where one of ``keywords`` begins, ascending (``str.find`` is far cheaper
    than letting the regex engine try every position)."""
    starts = []
    for keyword in keywords:
        index = haystack.find(keyword)
        while index != -1:
            starts.append(index)
            index = haystack.find(keyword, index + 1)
    starts.sort()
    return starts


def _matches(text: str, lowered: str, spec: _Spec) -> Iterator[re.Match]:
    """The same matches as ``spec.pattern.finditer(text)``, trying only where one can start."""
    if not spec.keywords:
        yield from spec.pattern.finditer(text)
        return
    haystack = lowered if spec.fold else text
    starts = _keyword_starts(haystack, spec.keywords)
    if not starts:
        return
    if not spec.anchored or len(haystack) != len(text):  # lower() may change the length
        yield from spec.pattern.finditer(text)
        return
    end = 0
    for start in starts:
        if start < end:
            continue
        match = spec.pattern.match(text, start)
        if match:
            end = match.end()
            yield match


def _scan(
    text: str, specs: Dict[str, _Spec], names: Optional[Iterable[str]]
) -> Tuple[Finding, ...]:
    selected = _selected(specs, names)
    if not text or (specs is _SECRET_SPECS and _SECRET_GATE.search(text) is None):
        return ()
    lowered = text.lower() if any(spec.fold for _, spec in selected) else text
    findings: List[Finding] = []
    for name, spec in selected:
        for match in _matches(text, lowered, spec):
            start, end = _value_span(match)
            value = text[start:end]
            if is_placeholder(value) or (spec.valid is not None and not spec.valid(value)):
                continue
            findings.append((name, start, end))
    findings.sort(key=lambda f: (f[1], -f[2], f[0]))
    return tuple(findings)


def find_secrets(text: str, names: Optional[Iterable[str]] = None) -> Tuple[Finding, ...]:
    """Every secret in ``text`` as ``(detector, start, end)``, sorted by position.

    ``names`` restricts the detectors that run; an unknown name raises ``KeyError``. Findings from
    different detectors may overlap (a JWT used as a password value is reported by both).
    """
    return _scan(text, _SECRET_SPECS, names)


def find_pii(text: str, names: Optional[Iterable[str]] = None) -> Tuple[Finding, ...]:
    """Every PII finding in ``text``, same shape and rules as ``find_secrets``."""
    return _scan(text, _PII_SPECS, names)


def _merge(findings: Iterable[Finding]) -> List[Finding]:
    """Overlapping findings collapse into one span labelled by the earliest (then longest)."""
    merged: List[Finding] = []
    for name, start, end in sorted(findings, key=lambda f: (f[1], -f[2])):
        if merged and start < merged[-1][2]:
            last = merged[-1]
            merged[-1] = (last[0], last[1], max(last[2], end))
        else:
            merged.append((name, start, end))
    return merged


def _redact_once(text: str, pii: bool) -> str:
    findings = list(find_secrets(text))
    if pii:
        findings.extend(find_pii(text))
    if not findings:
        return text
    parts: List[str] = []
    cursor = 0
    for name, start, end in _merge(findings):
        parts.append(text[cursor:start])
        parts.append(f"[REDACTED:{name}]")
        cursor = end
    parts.append(text[cursor:])
    return "".join(parts)


# Redaction can, in contrived text, expose a match that an overlapping one hid; a second pass
# catches that. Real inputs settle after one pass.
_MAX_REDACT_PASSES = 4


def redact(text: str, pii: bool = False) -> str:
    """``text`` with every secret (and, with ``pii=True``, every PII finding) replaced by
    ``[REDACTED:<detector>]``. Idempotent: redacting twice changes nothing.
    """
    if not pii and _SECRET_GATE.search(text) is None:
        return text
    for _ in range(_MAX_REDACT_PASSES):
        redacted = _redact_once(text, pii)
        if redacted == text:
            break
        text = redacted
    return text
