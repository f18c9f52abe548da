"""The team, billing and audit commands, run as a user would (the ``trackly`` click entry
point, in this process, on a SQLite file migrated once per session)."""

from __future__ import annotations

from tests.cli_helpers import migrated_sqlite, trackly_here


def test_invite_accept_role_rules_and_the_trail_from_the_command_line(tmp_path):
    env = {"TRACKLY_DATABASE_URL": migrated_sqlite(tmp_path / "cli.sqlite3")}

    def run(*args: str):
        return trackly_here(*args, cwd=tmp_path, env=env)

    account = run("account", "create", "Acme", "--owner-email", "ops@acme.test").stdout.strip()
    invited = run("team", "invite", "ann@acme.test", "--account", account, "--role", "member")
    assert invited.returncode == 0, invited.stderr
    token = invited.stdout.strip()
    assert token.startswith("inv_") and "shown once" in invited.stderr
    joined = run("team", "accept", token)
    assert joined.returncode == 0, joined.stderr
    assert joined.stdout.strip().startswith("trk_") and "as member" in joined.stderr
    again = run("team", "accept", token)
    assert again.returncode != 0 and "No open invitation" in again.stderr

    listed = run("user", "list", "--account", account).stdout.splitlines()
    owner_id = next(line.split("\t")[0] for line in listed if "ops@acme.test" in line)
    demoted = run("team", "role", owner_id, "viewer", "--account", account)
    assert demoted.returncode != 0 and "at least one owner" in demoted.stderr
    removed = run("team", "remove", owner_id, "--account", account)
    assert removed.returncode != 0 and "at least one owner" in removed.stderr

    assert run("billing", "run").stdout.strip() == "0 invoice(s) issued"
    audit = run("audit", "list", "--account", account, "--action", "team")
    assert audit.returncode == 0, audit.stderr
    rows = [line.split("\t") for line in audit.stdout.splitlines()]
    assert [(r[2], r[3], r[5]) for r in rows] == [
        ("cli", "team.remove", "refused"), ("cli", "team.role", "refused"),
        ("cli", "team.accept", "ok"), ("cli", "team.invite", "ok")]
