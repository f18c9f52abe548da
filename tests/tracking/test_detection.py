"""Must show 3 (first half): real user agents classified right, the address ranges
(datacenters are scanners, Private Relay is people), and the other signals."""

from __future__ import annotations

import datetime as dt

import pytest

from core.tracking.addresses import AddressBook, Origin, RangeKind, import_ranges
from core.tracking.agents import AgentClassifier, Verdict
from core.tracking.detection import Detector, Signals
from tests.cli_helpers import trackly
from tests.tracking.agents_table import HUMANS, PREVIEWERS, SCANNERS, TABLE
from tests.tracking.helpers import PHONE_UA

AGENTS = AgentClassifier()
T0 = dt.datetime(2026, 3, 3, 15, 0, tzinfo=dt.UTC)


def test_the_table_is_big_enough_and_covers_every_kind():
    assert len(TABLE) >= 60
    assert len(HUMANS) >= 20
    names = " ".join(name for name, _, _ in PREVIEWERS + SCANNERS).lower()
    for needed in ("imessage", "google messages", "whatsapp", "slack", "discord",
                   "telegram", "facebook", "twitter", "linkedin"):
        assert needed in names


@pytest.mark.parametrize(("name", "agent", "verdict"), TABLE, ids=[t[0] for t in TABLE])
def test_real_agents_are_classified_right(name, agent, verdict):
    judgement = AGENTS.classify(agent)
    assert judgement.verdict == Verdict(verdict), (name, judgement)
    assert (judgement.reason is None) == (verdict == "human")


def test_each_distinct_agent_is_judged_once():
    agents = AgentClassifier(cache_size=2)
    first = agents.classify(PHONE_UA)
    assert agents.classify(PHONE_UA) is first  # the cached judgement itself
    agents.classify("curl/8.5.0")
    agents.classify("Wget/1.21")
    assert len(agents._cache) == 2  # bounded


def _detector(tmp_path=None) -> Detector:
    return Detector(agents=AGENTS, addresses=AddressBook(data_dir=tmp_path))


def _signals(**kw) -> Signals:
    base = dict(method="GET", user_agent=PHONE_UA, address="203.0.113.7", headers={},
                at=T0, sent_at=None)
    return Signals(**{**base, **kw})


def test_addresses_datacenter_is_a_scanner_relay_is_a_person():
    detector = _detector()
    # 1.12.0.0/14 is a datacenter (Tencent) in the packaged list.
    assert detector.addresses.origin("1.12.3.4") is Origin.DATACENTER
    assert detector.judge(_signals(address="1.12.3.4")).reason == "address:datacenter"
    # 104.28.28.1 is an iCloud Private Relay egress: a person, never a bot for the
    # address alone.
    assert detector.addresses.origin("104.28.28.1") is Origin.RELAY
    assert detector.judge(_signals(address="104.28.28.1")).verdict is Verdict.HUMAN
    assert detector.judge(_signals(address="::ffff:1.12.3.4")).reason == "address:datacenter"
    assert detector.addresses.origin("2001:310::1") is Origin.DATACENTER
    assert detector.addresses.origin("203.0.113.7") is Origin.OTHER
    assert detector.addresses.origin("not an address") is Origin.OTHER


def test_other_signals():
    detector = _detector()
    assert detector.judge(_signals(method="HEAD")).reason == "method:head"
    for header in ({"Sec-Purpose": "prefetch;prerender"}, {"Purpose": "prefetch"},
                   {"X-Moz": "prefetch"}):
        assert detector.judge(_signals(headers=header)).reason == "prefetch"
    soon = _signals(sent_at=T0 - dt.timedelta(seconds=2))
    assert detector.judge(soon).reason == "seconds_after_send"
    later = _signals(sent_at=T0 - dt.timedelta(seconds=40))
    assert detector.judge(later).verdict is Verdict.HUMAN


def test_operators_extend_or_replace_the_ranges_from_a_file(tmp_path):
    source = tmp_path / "mine.txt"
    source.write_text("# our scanners\n198.51.100.0/24\n2001:db8::/32\n")
    assert import_ranges(source, kind=RangeKind.DATACENTER, data_dir=tmp_path,
                         replace=False) == 2
    book = AddressBook(data_dir=tmp_path)
    assert book.origin("198.51.100.9") is Origin.DATACENTER
    assert book.origin("1.12.3.4") is Origin.DATACENTER  # the packaged ones still count
    assert import_ranges(source, kind=RangeKind.DATACENTER, data_dir=tmp_path,
                         replace=True) == 2
    book = AddressBook(data_dir=tmp_path)
    assert book.origin("198.51.100.9") is Origin.DATACENTER
    assert book.origin("1.12.3.4") is Origin.OTHER
    bad = tmp_path / "bad.txt"
    bad.write_text("10.0.0.0/8\nnonsense\n")
    with pytest.raises(ValueError, match="line 2"):
        import_ranges(bad, kind=RangeKind.RELAY, data_dir=tmp_path, replace=False)
    assert not (tmp_path / "ip-ranges" / "relay.txt").exists()


def test_the_refresh_command_extends_the_ranges_from_a_file(tmp_path):
    source = tmp_path / "scanners.txt"
    source.write_text("198.51.100.0/24\n")
    done = trackly("ip-ranges", "import", str(source), "--kind", "datacenter", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "1 datacenter network(s)" in done.stdout
    book = AddressBook(data_dir=tmp_path / "trackly-data")
    assert book.origin("198.51.100.9") is Origin.DATACENTER
    source.write_text("nonsense\n")
    refused = trackly("ip-ranges", "import", str(source), "--kind", "relay", cwd=tmp_path)
    assert refused.returncode == 2 and "line 1" in refused.stderr
