"""Where a click comes from: a datacenter (hosting, VPN: scanners live there), Apple's
iCloud Private Relay (people), or anywhere else.

The ranges ship with the package (``ip_ranges/``, MIT, with its licence); an operator adds
to them or replaces them from a file with ``trackly ip-ranges import``, which writes into
the data directory. Nothing is fetched at run time. Lookups are a binary search over
merged integer ranges, built once per process on first use."""

from __future__ import annotations

import bisect
import functools
import ipaddress
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

PACKAGED = Path(__file__).with_name("ip_ranges")


class RangeKind(StrEnum):
    DATACENTER = "datacenter"
    RELAY = "relay"  # iCloud Private Relay egress: people


# The packaged files of each kind; an operator's file is <data dir>/ip-ranges/<kind>.txt.
FILES = {RangeKind.DATACENTER: ("datacenter_ipv4.txt", "datacenter_ipv6.txt"),
         RangeKind.RELAY: ("vpn_apple.txt",)}
REPLACE_MARK = ".replace"  # <kind>.replace next to the operator's file: packaged ones unused


class Origin(StrEnum):
    OTHER = "other"
    DATACENTER = "datacenter"
    RELAY = "relay"


def networks(lines: Iterable[str]) -> Iterator[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The networks of a ranges file: one CIDR or address a line; blanks and ``#``
    comments skipped. A line that is neither raises ValueError naming it."""
    for number, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            yield ipaddress.ip_network(line, strict=False)
        except ValueError:
            raise ValueError(f"line {number}: {line[:60]!r} is not an address or network"
                             ) from None


@dataclass(frozen=True)
class _Ranges:
    """Sorted, merged [start, end] integer ranges of one address family."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def __contains__(self, value: int) -> bool:
        i = bisect.bisect_right(self.starts, value) - 1
        return i >= 0 and value <= self.ends[i]

    @classmethod
    def of(cls, spans: list[tuple[int, int]]) -> _Ranges:
        spans.sort()
        starts: list[int] = []
        ends: list[int] = []
        for start, end in spans:
            if ends and start <= ends[-1] + 1:
                ends[-1] = max(ends[-1], end)
            else:
                starts.append(start)
                ends.append(end)
        return cls(tuple(starts), tuple(ends))


@dataclass(frozen=True)
class RangeSet:
    v4: _Ranges
    v6: _Ranges

    def __len__(self) -> int:
        return len(self.v4.starts) + len(self.v6.starts)


def _span(line: str) -> tuple[int, int, int]:
    """(family, first, last) of a CIDR or address: integer arithmetic, ten times faster
    than the ipaddress module over fifty thousand lines."""
    address, _, bits = line.partition("/")
    family, width = (socket.AF_INET6, 128) if ":" in address else (socket.AF_INET, 32)
    value = int.from_bytes(socket.inet_pton(family, address), "big")
    prefix = int(bits) if bits else width
    if not 0 <= prefix <= width:
        raise ValueError(line)
    host = (1 << (width - prefix)) - 1
    return (4 if width == 32 else 6), value & ~host, (value & ~host) | host


@functools.lru_cache(maxsize=8)
def _load(paths: tuple[Path, ...], stamp: tuple[float, ...]) -> RangeSet:
    """The ranges of some files (cached per file set and modification times: the parsed
    tables are immutable and the same for every service of the process)."""
    del stamp  # part of the cache key only
    spans: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
    for path in paths:
        with path.open(encoding="utf-8") as lines:
            for number, raw in enumerate(lines, 1):
                line = raw.split("#", 1)[0].strip()
                if not line:
                    continue
                try:
                    family, first, last = _span(line)
                except (OSError, ValueError):
                    raise ValueError(f"{path.name} line {number}: {line[:60]!r} is not an "
                                     "address or network") from None
                spans[family].append((first, last))
    return RangeSet(_Ranges.of(spans[4]), _Ranges.of(spans[6]))


def operator_dir(data_dir: Path) -> Path:
    return data_dir / "ip-ranges"


def files_for(kind: RangeKind, data_dir: Path | None) -> tuple[Path, ...]:
    paths: list[Path] = []
    extra = operator_dir(data_dir) / f"{kind}.txt" if data_dir else None
    replaced = extra is not None and extra.with_suffix(REPLACE_MARK).exists()
    if not replaced:
        paths += [PACKAGED / name for name in FILES[kind]]
    if extra is not None and extra.exists():
        paths.append(extra)
    return tuple(paths)


def _parse(address: str) -> tuple[int, int] | None:
    """(family, integer) of an address, None when it is not one."""
    try:
        return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, address), "big")
    except OSError:
        pass
    try:
        value = int.from_bytes(socket.inet_pton(socket.AF_INET6, address.split("%", 1)[0]),
                               "big")
    except OSError:
        return None
    if value >> 32 == 0xFFFF:  # ::ffff:a.b.c.d, as a dual-stack socket reports IPv4
        return 4, value & 0xFFFFFFFF
    return 6, value


class AddressBook:
    """Tells a click's origin from its address. Tables load on first use."""

    def __init__(self, *, data_dir: Path | None = None, cache_size: int = 50_000) -> None:
        self._data_dir = data_dir
        self._tables: dict[RangeKind, RangeSet] | None = None
        # A phone clicks from one address a few times: remember the answer (bounded).
        self._seen: dict[str, Origin] = {}
        self._cache_size = cache_size

    def load(self) -> None:
        """Read the ranges (half a second; done on first use, or ahead of it)."""
        self._load_tables()

    def _load_tables(self) -> dict[RangeKind, RangeSet]:
        if self._tables is None:
            tables = {}
            for kind in RangeKind:
                paths = files_for(kind, self._data_dir)
                tables[kind] = _load(paths, tuple(p.stat().st_mtime for p in paths))
            self._tables = tables
        return self._tables

    def origin(self, address: str) -> Origin:
        known = self._seen.get(address)
        if known is None:
            known = self._origin(address)
            if len(self._seen) >= self._cache_size:
                self._seen.clear()  # cheaper than LRU bookkeeping on every click
            self._seen[address] = known
        return known

    def _origin(self, address: str) -> Origin:
        parsed = _parse(address)
        if parsed is None:
            return Origin.OTHER
        family, value = parsed
        tables = self._load_tables()
        for kind, origin in ((RangeKind.RELAY, Origin.RELAY),
                             (RangeKind.DATACENTER, Origin.DATACENTER)):
            ranges = tables[kind]
            if value in (ranges.v4 if family == 4 else ranges.v6):
                return origin
        return Origin.OTHER


def import_ranges(source: Path, *, kind: RangeKind, data_dir: Path, replace: bool) -> int:
    """Add the networks of ``source`` to the operator's ``kind`` file (or, with
    ``replace``, make them the only ones of that kind). Returns how many it holds now.
    Raises ValueError naming the first bad line; nothing is written then."""
    with source.open(encoding="utf-8") as lines:
        new = [str(net) for net in networks(lines)]
    target = operator_dir(data_dir) / f"{kind}.txt"
    target.parent.mkdir(parents=True, exist_ok=True)
    kept: list[str] = []
    if not replace and target.exists():
        with target.open(encoding="utf-8") as lines:
            kept = [str(net) for net in networks(lines)]
    merged = sorted(set(kept) | set(new))
    tmp = target.with_suffix(".tmp")
    tmp.write_text("".join(f"{net}\n" for net in merged), encoding="utf-8")
    tmp.replace(target)
    marker = target.with_suffix(REPLACE_MARK)
    if replace:
        marker.touch()
    return len(merged)
