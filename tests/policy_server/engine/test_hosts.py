"""Host extraction, IP normalisation and host patterns for web egress / SSRF rules (R11)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_server.engine.hosts import (
    NAMED_RANGES,
    HostMatcher,
    host_candidates,
    host_of,
    parse_ip,
    scheme_of,
)

# Fullwidth digits and dots (U+FF10-FF19, U+FF0E), which URL parsers fold to ASCII.
FULLWIDTH = {ord(c): ord(c) + 0xFEE0 for c in "0123456789."}
FULLWIDTH_METADATA = "169.254.169.254".translate(FULLWIDTH)

HOST_OF = [
    ("https://user:pw@Example.COM:443/x", "example.com"),
    ("http://example.com", "example.com"),
    ("example.com", "example.com"),
    ("Example.COM.", "example.com"),
    ("example.com:8080", "example.com"),
    ("example.com/path?q=1#frag", "example.com"),
    ("localhost:3000/api", "localhost"),
    ("git@github.com:org/repo.git", "github.com"),
    ("ssh://git@github.com:22/org/repo", "github.com"),
    ("user@host.internal", "host.internal"),
    ("[::1]:80", "::1"),
    ("::1", "::1"),
    ("http://[::ffff:169.254.169.254]/", "::ffff:169.254.169.254"),
    ("http://[FD00:EC2::254]:80/latest", "fd00:ec2::254"),
    ("http://[fe80::1%25eth0]/", "fe80::1%eth0"),
    # WHATWG: the fragment / query starts before the '@', so the host is evil.com.
    ("http://evil.com#@169.254.169.254", "evil.com"),
    ("http://evil.com?@169.254.169.254", "evil.com"),
    # ... and the last '@' ends the userinfo.
    ("http://ok.example:80@169.254.169.254/", "169.254.169.254"),
    ("http://a@b@c.example/", "c.example"),
    # Special schemes take any run of slashes or backslashes.
    ("http:\\\\169.254.169.254\\latest", "169.254.169.254"),
    ("https:example.com/x", "example.com"),
    ("http:///example.com", "example.com"),
    ("//cdn.example.com/lib.js", "cdn.example.com"),
    # Escapes and fullwidth / ideographic spellings fold to the plain host.
    ("http://%31%36%39.254.169.254/", "169.254.169.254"),
    ("http://" + FULLWIDTH_METADATA + "/", "169.254.169.254"),
    ("http://example\u3002com/", "example.com"),
    ("  HTTP://EXAMPLE.com/  ", "example.com"),
    ("ht\ttp://exa\nmple.com", "example.com"),
    ("gopher://127.0.0.1:70/_x", "127.0.0.1"),
    ("HTTPS://B\u00dcCHER.de/", "b\u00fccher.de"),
    ("file://fileserver/share", "fileserver"),
    # No host at all.
    ("file:///etc/passwd", ""),
    ("file:/etc/passwd", ""),
    ("mailto:alice@example.com", ""),
    ("javascript:alert(1)", ""),
    ("data:text/plain,hi", ""),
    ("C:\\Users\\me", ""),
    ("/etc/passwd", ""),
    ("./relative/path", ""),
    ("", ""),
    ("   ", ""),
    ("http://", ""),
    ("@", ""),
    ("user@", ""),
    (":8080", ""),
]  # fmt: skip


@pytest.mark.parametrize(("target", "host"), HOST_OF)
def test_host_of(target, host):
    assert host_of(target) == host


@pytest.mark.parametrize("target", [None, 42, b"example.com"])
def test_host_of_non_strings(target):
    assert host_of(target) == ""
    assert scheme_of(target) == ""
    assert parse_ip(target) is None


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("HTTPS://example.com", "https"),
        ("gopher://127.0.0.1:70/", "gopher"),
        ("dict://127.0.0.1:11211/stat", "dict"),
        ("file:/etc/passwd", "file"),
        ("svn+ssh://host/repo", "svn+ssh"),
        (" javascript:alert(1)", "javascript"),
        ("localhost:8080", ""),
        ("git@github.com:org/repo", ""),
        ("github.com:org/repo", ""),
        ("example.com", ""),
        ("//example.com/x", ""),
        ("", ""),
    ],
)
def test_scheme_of(url, scheme):
    assert scheme_of(url) == scheme


@pytest.mark.parametrize(
    ("target", "candidates"),
    [
        # A browser sees ok.example, an RFC 3986 client (curl, requests) sees the metadata IP.
        ("http://ok.example\\@169.254.169.254/", ("ok.example", "169.254.169.254")),
        ("https://example.com/x\\y", ("example.com",)),
        ("http:\\\\169.254.169.254\\x", ("169.254.169.254",)),
        ("https://example.com/", ("example.com",)),
        ("", ()),
    ],
)
def test_host_candidates(target, candidates):
    assert host_candidates(target) == candidates


METADATA_IP = ipaddress.ip_address("169.254.169.254")

PARSE_IP = [
    ("169.254.169.254", METADATA_IP),
    ("2852039166", METADATA_IP),
    ("0xa9fea9fe", METADATA_IP),
    ("0XA9FEA9FE", METADATA_IP),
    ("0251.0376.0251.0376", METADATA_IP),
    ("0xa9.0xfe.0xa9.0xfe", METADATA_IP),
    ("169.254.43518", METADATA_IP),
    ("169.16689662", METADATA_IP),
    ("0251.254.0xa9.254", METADATA_IP),
    ("169.254.169.254.", METADATA_IP),
    ("::ffff:169.254.169.254", METADATA_IP),
    ("[::ffff:a9fe:a9fe]", METADATA_IP),
    ("169".translate(FULLWIDTH) + ".254.169.254", METADATA_IP),
    ("127.1", ipaddress.ip_address("127.0.0.1")),
    ("127.0.1", ipaddress.ip_address("127.0.0.1")),
    ("017700000001", ipaddress.ip_address("127.0.0.1")),
    ("0x7f.1", ipaddress.ip_address("127.0.0.1")),
    ("0", ipaddress.ip_address("0.0.0.0")),
    ("4294967295", ipaddress.ip_address("255.255.255.255")),
    ("[::1]", ipaddress.ip_address("::1")),
    ("::1", ipaddress.ip_address("::1")),
    ("[fe80::1%eth0]", ipaddress.ip_address("fe80::1")),
    ("FD00:EC2::254", ipaddress.ip_address("fd00:ec2::254")),
]


@pytest.mark.parametrize(("host", "address"), PARSE_IP)
def test_parse_ip(host, address):
    assert parse_ip(host) == address


@pytest.mark.parametrize(
    "host",
    [
        "169.254.169.254.nip.io",  # a DNS name that contains an IP is still a DNS name
        "example.com",
        "256.1.1.1",
        "1.256.1.1",
        "1.2.3.4.5",
        "08.1.1.1",  # 8 is not an octal digit
        "0x1g",
        "4294967296",
        "1..1",
        "-1",
        "+1",
        "1_0",
        " ",
        "",
        "::g",
        "[::1",
        "9" * 5000,  # int() would refuse this many digits; parse_ip must not raise
    ],
)
def test_parse_ip_rejects(host):
    assert parse_ip(host) is None


# Every spelling below reaches the cloud metadata service.
METADATA_SPELLINGS = [
    "169.254.169.254",
    "http://169.254.169.254/latest/meta-data/",
    "2852039166",
    "http://2852039166/",
    "0xa9fea9fe",
    "0XA9FEA9FE",
    "0251.0376.0251.0376",
    "0251.254.169.254",
    "169.254.43518",
    "169.16689662",
    "0xa9.0xfe.0xa9.0xfe",
    "169.254.169.254.",
    "::ffff:169.254.169.254",
    "[::ffff:169.254.169.254]",
    "http://[::ffff:a9fe:a9fe]/",
    "64:ff9b::a9fe:a9fe",  # NAT64
    "::169.254.169.254",  # deprecated IPv4-compatible IPv6
    "2002:a9fe:a9fe::1",  # 6to4
    "[fd00:ec2::254]",
    "http://[fd00:ec2::254]:80/latest",
    "http://metadata.google.internal/computeMetadata/v1/",
    "METADATA.GOOGLE.INTERNAL.",
    "metadata.goog",
    "metadata",
    "100.100.100.200",
    "169.254.170.2",
    "http://%31%36%39.254.169.254/",
    "http://" + FULLWIDTH_METADATA + "/",
    "http://ok.example@169.254.169.254/",
]

LOOPBACK_SPELLINGS = [
    "127.0.0.1",
    "127.1",
    "2130706433",
    "0x7f000001",
    "0177.0.0.1",
    "017700000001",
    "127.255.255.254",
    "[::1]",
    "[::1]:8080",
    "::ffff:127.0.0.1",
    "[::ffff:7f00:1]",
    "http://localhost:8080/admin",
    "LOCALHOST.",
    "api.localhost",
    "0.0.0.0",
    "0",
    "http://[::]/",
]


@pytest.mark.parametrize("host", METADATA_SPELLINGS)
def test_metadata_spellings(host):
    assert HostMatcher(["@metadata"]).match(host) == "@metadata"


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_loopback_spellings(host):
    assert HostMatcher(["@loopback"]).match(host) == "@loopback"


MATCHES = [
    ("example.com", "example.com", True),
    ("example.com", "EXAMPLE.com.", True),
    ("example.com", "https://example.com:443/x", True),
    ("example.com", "sub.example.com", False),
    ("example.com", "example.com.evil.io", False),
    ("example.com", "notexample.com", False),
    ("*.example.com", "sub.example.com", True),
    ("*.example.com", "a.b.example.com", True),
    ("*.example.com", "example.com", False),
    ("*.example.com", "badexample.com", False),
    ("*.example.com", "sub.example.com.evil.io", False),
    (".example.com", "example.com", True),
    (".example.com", "x.example.com", True),
    (".example.com", "notexample.com", False),
    (".example.com", "example.co", False),
    ("domain:example.com", "example.com", True),
    ("domain:example.com", "deep.sub.example.com", True),
    ("domain:example.com", "example.com.au", False),
    ("Example.COM", "example.com", True),
    ("10.0.0.0/8", "10.255.0.1", True),
    ("10.0.0.0/8", "012.0.0.1", True),  # octal 012 is 10
    ("10.0.0.0/8", "11.0.0.1", False),
    ("10.0.0.0/8", "10.example.com", False),
    ("fd00::/8", "fd12::1", True),
    ("fd00::/8", "[fd00::1]:443", True),
    ("fd00::/8", "fe80::1", False),
    ("192.168.1.10", "192.168.1.10", True),
    ("192.168.1.10", "3232235786", True),
    ("192.168.1.10", "192.168.1.11", False),
    ("::1", "[::1]:8080", True),
    ("[::1]", "::1", True),
    ("::ffff:10.0.0.1", "10.0.0.1", True),
    ("@private", "172.16.5.4", True),
    ("@private", "172.31.255.255", True),
    ("@private", "172.32.0.1", False),
    ("@private", "100.64.0.1", True),
    ("@private", "fc00::1", True),
    ("@private", "::ffff:192.168.0.1", True),
    ("@private", "8.8.8.8", False),
    ("@link-local", "169.254.1.1", True),
    ("@link-local", "fe80::abcd", True),
    ("@link-local", "169.255.0.1", False),
    ("b\u00fccher.de", "xn--bcher-kva.de", True),
    ("xn--bcher-kva.de", "https://B\u00dcCHER.de/", True),
    # Look-alikes. A DNS name that embeds an IP (nip.io, sslip.io) may well resolve to that IP,
    # but only DNS can tell: the fetcher must check the resolved address; by name it is no IP.
    ("@metadata", "169.254.169.254.nip.io", False),
    ("@loopback", "127.0.0.1.nip.io", False),
    ("@metadata", "metadata.google.internal.evil.io", False),
    ("@metadata", "169.254.169.253", False),
    ("@loopback", "localhost.evil.io", False),
    ("@loopback", "128.0.0.1", False),
    ("@private", "", False),
    ("@loopback", "file:///etc/passwd", False),
]


@pytest.mark.parametrize(("pattern", "host", "matches"), MATCHES)
def test_patterns(pattern, host, matches):
    assert HostMatcher([pattern]).match(host) == (pattern if matches else None)


def test_first_pattern_in_list_order_wins():
    assert HostMatcher(["*.example.com", ".example.com"]).match("a.example.com") == "*.example.com"
    assert HostMatcher([".example.com", "*.example.com"]).match("a.example.com") == ".example.com"
    assert HostMatcher(["@private", "10.1.0.0/16"]).match("10.1.1.1") == "@private"
    assert HostMatcher(["10.1.0.0/16", "@private"]).match("10.1.1.1") == "10.1.0.0/16"
    assert HostMatcher(["a.example.com", "*.example.com"]).match("a.example.com") == "a.example.com"


def test_matcher_keeps_patterns():
    matcher = HostMatcher("example.com")  # a lone string is one pattern, not its characters
    assert matcher.patterns == ("example.com",)
    assert matcher.match("e") is None
    assert "example.com" in repr(matcher)
    assert HostMatcher([]).match("example.com") is None


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        ("", "not a host name"),
        ("*", "not a host name"),
        ("*.", "not a host name"),
        ("**.example.com", "not a host name"),
        ("*example.com", "not a host name"),
        ("exa mple.com", "not a host name"),
        ("a..b", "not a host name"),
        ("-bad.com", "not a host name"),
        ("example.com:443", "not a host name"),
        ("https://example.com/x", "'/' belongs only in a CIDR range"),
        ("10.0.0.1/8", "has host bits set"),
        ("10.0.0.0/33", "10.0.0.0/33"),
        ("127.1", "standard dotted or IPv6 form"),
        ("2852039166", "standard dotted or IPv6 form"),
        ("@nope", "unknown named range"),
        (None, "not a string"),
        (42, "not a string"),
    ],
)
def test_invalid_patterns(pattern, why):
    with pytest.raises(ValueError) as raised:
        HostMatcher(["example.com", pattern])
    message = str(raised.value)
    assert f"invalid host pattern {pattern!r}" in message
    assert why in message
    assert "accepted forms:" in message
    assert "@metadata" in message


def test_named_ranges_compile():
    for name in NAMED_RANGES:
        assert HostMatcher([name.upper()]).patterns == (name.upper(),)


def _spell_ipv4(value: int, draw) -> str:
    """One of the many spellings ``inet_aton`` accepts for ``value``."""
    n_parts = draw(st.integers(1, 4))
    octets = list(value.to_bytes(4, "big"))
    parts = [*octets[: n_parts - 1], int.from_bytes(bytes(octets[n_parts - 1 :]), "big")]
    styles = {
        "dec": str,
        "hex": hex,
        "HEX": lambda n: hex(n).upper(),
        "oct": lambda n: "0" + oct(n)[2:],
    }
    return ".".join(styles[draw(st.sampled_from(sorted(styles)))](part) for part in parts)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_ipv4_spelling_reaches_the_same_address(data):
    value = data.draw(st.integers(0, 2**32 - 1))
    spelled = _spell_ipv4(value, data.draw)
    assert parse_ip(spelled) == ipaddress.IPv4Address(value)
    assert parse_ip(f"::ffff:{ipaddress.IPv4Address(value)}") == ipaddress.IPv4Address(value)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_any_metadata_spelling_matches(data):
    spelled = _spell_ipv4(int(METADATA_IP), data.draw)
    url = data.draw(st.sampled_from(["{}", "http://{}/", "https://u:p@{}:80/x", "{}."]))
    assert HostMatcher(["@metadata"]).match(url.format(spelled)) == "@metadata"


host_names = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\.[a-z]{2,6}){1,3}", fullmatch=True)


@settings(max_examples=200, deadline=None)
@given(host_names, st.integers(1, 65535), st.sampled_from(["http", "https", "ws", "ftp"]))
def test_host_of_recovers_generated_urls(host, port, scheme):
    assert host_of(f"{scheme}://user:pw@{host.upper()}:{port}/p?q#f") == host
    assert host_of(f"{host}:{port}") == host
    assert host_of(f"git@{host}:org/repo.git") == host
    assert HostMatcher([f".{host}"]).match(f"https://www.{host}/") == f".{host}"


MATCHER = HostMatcher(["@metadata", "@loopback", "@private", "@link-local", ".example.com"])


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=80), st.from_regex(r"[0-9a-fx.:\[\]@/%]{0,40}", fullmatch=True)))
def test_never_raises(text):
    host = host_of(text)
    assert host == host.lower() or not host.isascii()
    assert not host.endswith(".")
    scheme_of(text)
    parse_ip(text)
    host_candidates(text)
    MATCHER.match(text)
