"""Hosts and URLs for web egress and SSRF rules (R11): which host a target names, and whether
that host falls under a list of patterns.

Nobody after the metadata service writes ``169.254.169.254``: they write ``2852039166``,
``0xa9fea9fe``, ``0251.0376.0251.0376``, ``[::ffff:169.254.169.254]`` or
``http://ok.example@169.254.169.254/``. So ``host_of`` follows the WHATWG URL parser (what
browsers and Node's ``fetch`` do: last ``@`` wins, ``\\`` ends the authority, fullwidth digits
fold to ASCII, ``%``-escapes in the host are decoded) and ``parse_ip`` accepts every IPv4
spelling that ``inet_aton`` and WHATWG accept, then unwraps IPv4-mapped IPv6.

A DNS name that merely contains an IP (``169.254.169.254.nip.io``) is a name, not an address:
matching it against IP ranges would need DNS, which is the fetcher's job (resolve once, check the
address, connect to that address). Everything here is pure and never resolves.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from typing import Dict, Iterable, List, Optional, Tuple, Union
from urllib.parse import unquote

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

# WHATWG "special" schemes: any run of / or \ after the colon introduces the host.
_SPECIAL_SCHEMES = frozenset({"http", "https", "ws", "wss", "ftp"})
# Other schemes we know; without ``//`` they carry no host (``mailto:``, ``file:/etc/passwd``).
_OTHER_SCHEMES = frozenset(
    {
        "file", "mailto", "data", "javascript", "vbscript", "about", "blob", "tel", "sms", "urn",
        "news", "gopher", "dict", "ldap", "ldaps", "ssh", "sftp", "scp", "git", "svn", "smb",
        "tftp", "telnet", "jar", "netdoc", "s3", "gs", "redis", "postgres", "postgresql", "mysql",
        "mongodb", "amqp", "irc", "rtsp", "sip",
    }
)  # fmt: skip
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_AUTHORITY_END = re.compile(r"[/\\?#]")  # WHATWG: a backslash ends the authority too
_RFC3986_AUTHORITY_END = re.compile(r"[/?#]")
_C0_AND_SPACE = "".join(chr(c) for c in range(0x21))
_TAB_NEWLINE = str.maketrans("", "", "\t\n\r")

# Named ranges a policy can write instead of address lists.
NAMED_RANGES: Dict[str, Tuple[str, ...]] = {
    "@private": ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"),
    # 0.0.0.0 and :: reach the local host on Linux and macOS: a classic loopback bypass.
    "@loopback": ("127.0.0.0/8", "::1", "0.0.0.0/8", "::", "localhost", "*.localhost"),
    "@link-local": ("169.254.0.0/16", "fe80::/10"),
    "@metadata": (
        "169.254.169.254",  # AWS, Azure, GCP, OCI, DigitalOcean, OpenStack
        "fd00:ec2::254",  # AWS IPv6
        "169.254.170.2",  # AWS ECS task metadata
        "100.100.100.200",  # Alibaba Cloud
        "metadata.google.internal",
        "metadata.goog",
        "metadata",  # GCP short name via the search domain
        "instance-data",  # AWS short name
        "instance-data.ec2.internal",
    ),
}

_ACCEPTED_FORMS = (
    "accepted forms: example.com (exact), *.example.com (subdomains only), .example.com or "
    "domain:example.com (the domain and its subdomains), an IP address (10.0.0.1, ::1), a CIDR "
    "range (10.0.0.0/8, fd00::/8), or a named range (" + ", ".join(NAMED_RANGES) + ")"
)
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_HOST_NAME = re.compile(rf"(?:{_LABEL}\.)*{_LABEL}")
_IPV4_PART = {
    16: re.compile(r"[0-9a-f]*"),
    8: re.compile(r"[0-7]+"),
    10: re.compile(r"[0-9]+"),
}
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _clean(target: str) -> str:
    """What a URL parser sees: outer controls and spaces gone, tabs and newlines dropped."""
    return target.strip(_C0_AND_SPACE).translate(_TAB_NEWLINE)


def _fold(host: str) -> str:
    """Lower-case, fullwidth and ideographic spellings folded to ASCII, trailing dots gone."""
    if not host.isascii():
        host = unicodedata.normalize("NFKC", host).replace("\u3002", ".")
    return host.lower().rstrip(".")


def _split_scheme(target: str) -> Tuple[str, str]:
    """``(scheme, rest)``; no scheme for ``host:port`` and scp-style ``host:path``."""
    match = _SCHEME.match(target)
    if not match:
        return "", target
    scheme, rest = match.group(1).lower(), target[match.end() :]
    if scheme in _SPECIAL_SCHEMES or scheme in _OTHER_SCHEMES or rest.startswith("//"):
        return scheme, rest
    return "", target


def scheme_of(url: str) -> str:
    """The lower-cased scheme (``https``, ``file``, ``gopher``), or "" for a bare host."""
    if not isinstance(url, str):
        return ""
    return _split_scheme(_clean(url))[0]


def _authority(target: str, rfc3986: bool = False) -> str:
    """The ``user@host:port`` part of a URL or of an ssh/scp-style target (WHATWG reading, or
    the stricter RFC 3986 one: ``//`` required, backslash an ordinary character)."""
    scheme, rest = _split_scheme(target)
    if scheme in _SPECIAL_SCHEMES and not rfc3986:
        rest = rest.lstrip("/\\")
    elif scheme:
        if not rest.startswith("//"):
            return ""
        rest = rest[2:]
    elif rest.startswith(("//", "\\\\")):
        rest = rest[2:]
    elif len(rest) > 2 and rest[1] == ":" and rest[0].isalpha() and rest[2] in "/\\":
        return ""  # a Windows drive path, C:\x
    end = (_RFC3986_AUTHORITY_END if rfc3986 else _AUTHORITY_END).search(rest)
    return rest if end is None else rest[: end.start()]


def _host(authority: str) -> str:
    host_port = authority.rpartition("@")[2]
    if host_port.startswith("["):
        host = host_port[1:].partition("]")[0]
    else:
        host = host_port.partition(":")[0]
    return _fold(unquote(host)) if "%" in host else _fold(host)


def host_of(target: str) -> str:
    """The host ``target`` names, lower-cased without trailing dot, IPv6 without brackets.

    Accepts URLs, ``host:port``, ``user@host``, ``user@host:path``, ``[::1]:80`` and bare hosts;
    returns "" when there is no host (``file:///x``, ``mailto:``, a path). Never raises.
    """
    if not isinstance(target, str):
        return ""
    target = _clean(target)
    if ":" in target and _bare_ipv6(target) is not None:
        return _fold(target)
    return _host(_authority(target))


def host_candidates(target: str) -> Tuple[str, ...]:
    """Every host ``target`` may reach: the WHATWG reading (``host_of``) and, when it differs,
    the RFC 3986 one that curl-like and Python clients use.

    ``http://ok.example\\@169.254.169.254/`` is ``ok.example`` to a browser but
    ``169.254.169.254`` to an RFC 3986 parser; an SSRF rule should deny if any candidate is
    internal. Never raises.
    """
    whatwg = host_of(target)
    if not isinstance(target, str) or "\\" not in target or not scheme_of(target):
        return (whatwg,) if whatwg else ()
    rfc = _host(_authority(_clean(target), rfc3986=True))
    return tuple(dict.fromkeys(h for h in (whatwg, rfc) if h and "\\" not in h))


def _bare_ipv6(text: str) -> Optional[ipaddress.IPv6Address]:
    try:
        return ipaddress.IPv6Address(text.partition("%")[0])
    except ValueError:
        return None


def _ipv4_number(part: str) -> Optional[int]:
    """One dotted part: ``0x`` hex, leading-zero octal or decimal (as inet_aton reads it)."""
    if part.startswith("0x"):
        digits, base = part[2:], 16
    elif len(part) > 1 and part.startswith("0"):
        digits, base = part[1:], 8
    else:
        digits, base = part, 10
    if len(digits) > 32 or not _IPV4_PART[base].fullmatch(digits):
        return None
    return int(digits, base) if digits else 0


def _parse_ipv4(text: str) -> Optional[ipaddress.IPv4Address]:
    """``127.1``, ``2852039166``, ``0xa9fea9fe``, ``0251.0376.0251.0376`` and mixes of them."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = [_ipv4_number(part) for part in parts]
    if any(n is None for n in numbers):
        return None
    *leading, last = numbers
    if any(n > 255 for n in leading) or last >= 256 ** (5 - len(numbers)):
        return None
    value = last
    for index, number in enumerate(leading):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def parse_ip(host: str) -> Optional[IPAddress]:
    """The address ``host`` spells, in any spelling a resolver or URL parser accepts, or None.

    IPv4-mapped IPv6 (``::ffff:169.254.169.254``) comes back as the IPv4 address it reaches;
    brackets and an IPv6 zone (``%eth0``) are ignored. Never raises.
    """
    if not isinstance(host, str):
        return None
    text = _fold(host.strip())
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" not in text:
        return _parse_ipv4(text) if text else None
    address = _bare_ipv6(text)
    if address is not None and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _embedded_ipv4(address: IPAddress) -> Tuple[IPAddress, ...]:
    """IPv4 addresses an IPv6 address reaches through NAT64, 6to4 or the deprecated
    IPv4-compatible form, so ``64:ff9b::a9fe:a9fe`` is checked as 169.254.169.254 too."""
    if address.version == 4:
        return ()
    found: List[IPAddress] = []
    value = int(address)
    if address in _NAT64 or (value >> 32 == 0 and value >= 1 << 24):
        found.append(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    return tuple(found)


def _ascii_name(name: str) -> str:
    """IDNA (punycode) form, so ``bücher.de`` and ``xn--bcher-kva.de`` compare equal."""
    if name.isascii():
        return name
    try:
        return name.encode("idna").decode("ascii")
    except UnicodeError:
        return name


_Rule = Tuple[str, Union[str, IPNetwork]]  # ("exact" | "sub" | "domain" | "net", value)


def _invalid(pattern: object, why: str) -> ValueError:
    return ValueError(f"invalid host pattern {pattern!r}: {why}; {_ACCEPTED_FORMS}")


def _network(text: str, pattern: str) -> Optional[IPNetwork]:
    """The network an IP or CIDR pattern denotes; None when ``text`` is not IP-shaped."""
    bare = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        if "/" in bare:
            network = ipaddress.ip_network(bare, strict=True)
        else:
            network = ipaddress.ip_network(ipaddress.ip_address(bare))
    except ValueError as exc:
        if "/" in bare:
            ip_like = parse_ip(bare.partition("/")[0]) is not None
            why = (
                str(exc) if ip_like else "'/' belongs only in a CIDR range; give a host, not a URL"
            )
            raise _invalid(pattern, why) from None
        if parse_ip(bare) is not None:
            raise _invalid(pattern, "write IP addresses in standard dotted or IPv6 form") from None
        return None
    mapped = getattr(network.network_address, "ipv4_mapped", None)
    if mapped is not None and network.prefixlen >= 96:
        return ipaddress.ip_network(f"{mapped}/{network.prefixlen - 96}")
    return network


def _name(text: str, pattern: str) -> str:
    name = _ascii_name(_fold(text))
    if not _HOST_NAME.fullmatch(name):
        raise _invalid(pattern, f"{text!r} is not a host name")
    return name


def _rules(pattern: str) -> List[_Rule]:
    """What one pattern matches; named ranges expand into their members."""
    if not isinstance(pattern, str):
        raise _invalid(pattern, "not a string")
    text = pattern.strip().lower()
    if text.startswith("@"):
        if text not in NAMED_RANGES:
            raise _invalid(pattern, "unknown named range")
        return [rule for member in NAMED_RANGES[text] for rule in _rules(member)]
    network = _network(text, pattern)
    if network is not None:
        return [("net", network)]
    if text.startswith("*."):
        return [("sub", _name(text[2:], pattern))]
    if text.startswith("domain:"):
        return [("domain", _name(text[len("domain:") :], pattern))]
    if text.startswith("."):
        return [("domain", _name(text[1:], pattern))]
    return [("exact", _name(text, pattern))]


class HostMatcher:
    """Matches hosts against exact names, wildcard/domain suffixes, IPs, CIDRs and named ranges.

    Built once per policy (invalid patterns raise ``ValueError`` for the linter); ``match`` is a
    few dict look-ups per label plus a scan of the IP networks.
    """

    __slots__ = ("_exact", "_networks", "_sub", "_suffix", "patterns")

    def __init__(self, patterns: Iterable[str]) -> None:
        if isinstance(patterns, str):
            patterns = (patterns,)
        self.patterns: Tuple[str, ...] = tuple(patterns)
        # value -> index of the first pattern naming it; the earliest pattern is reported.
        self._exact: Dict[str, int] = {}
        self._sub: Dict[str, int] = {}
        self._suffix: Dict[str, int] = {}
        self._networks: List[Tuple[IPNetwork, int]] = []
        tables = {"exact": self._exact, "sub": self._sub, "domain": self._suffix}
        for index, pattern in enumerate(self.patterns):
            for kind, value in _rules(pattern):
                if kind == "net":
                    self._networks.append((value, index))
                else:
                    tables[kind].setdefault(value, index)

    def __repr__(self) -> str:
        return f"HostMatcher({list(self.patterns)!r})"

    def match(self, host: str) -> Optional[str]:
        """The first pattern that matches ``host`` (or the host of a URL), else None."""
        name = host_of(host)
        if not name:
            return None
        address = parse_ip(name)
        if address is not None:
            index = self._match_address(address)
        else:
            index = self._match_name(_ascii_name(name))
        return None if index is None else self.patterns[index]

    def _match_address(self, address: IPAddress) -> Optional[int]:
        candidates = (address, *_embedded_ipv4(address))
        hits = [
            index
            for network, index in self._networks
            for candidate in candidates
            if candidate.version == network.version and candidate in network
        ]
        return min(hits, default=None)

    def _match_name(self, name: str) -> Optional[int]:
        hits = [self._exact.get(name), self._suffix.get(name)]
        labels = name.split(".")
        for start in range(1, len(labels)):
            parent = ".".join(labels[start:])
            hits.append(self._sub.get(parent))
            hits.append(self._suffix.get(parent))
        return min((hit for hit in hits if hit is not None), default=None)
