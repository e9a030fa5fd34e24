"""import-groups: the example file creates the 1 + 6 + N tree once."""

from __future__ import annotations

from pathlib import Path

from bot.cli import main
from bot.members.org import load_tree
from storage import groups as group_store
from storage.groups import GroupRepo
from storage.migrations import migrate
from tests.conftest import open_test_database
from tests.members_helpers import SEED_TIME

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "pudong-groups.toml"


async def test_import_creates_the_example_tree_with_paths_and_is_idempotent(
    tmp_path: Path, database_url: str | None
) -> None:
    db = await open_test_database(database_url, tmp_path / "t.db")
    try:
        await migrate(db)
        repo = GroupRepo(db)
        async with db.transaction() as tx:
            created = await group_store.insert_tree(tx, load_tree(EXAMPLE), SEED_TIME)
        groups = await repo.all()
        assert created == len(groups) == 12
        root = [g for g in groups if g.parent_id is None]
        assert [g.name for g in root] == ["浦东新联总会"] and root[0].kind == "head"
        subs = [g for g in groups if g.kind == "sub"]
        assert len(subs) == 6 and all(g.parent_id == root[0].id for g in subs)
        by_id = {g.id: g for g in groups}
        for g in groups:
            expected = (by_id[g.parent_id].path if g.parent_id else "/") + f"{g.id}/"
            assert g.path == expected
        assert {g.name for g in groups if g.kind == "local"} >= {"陆家嘴金融城新联会", "花木街道新联会"}
        assert len([g for g in groups if g.kind == "club"]) == 2
        async with db.transaction() as tx:
            assert await group_store.insert_tree(tx, load_tree(EXAMPLE), SEED_TIME) is None
        assert await repo.count() == 12
    finally:
        await db.close()


def test_cli_import_groups_twice_says_it_skipped(tmp_path: Path, capsys: object, monkeypatch: object) -> None:
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.setenv("LIAISON_DB", str(tmp_path / "cli.db"))
    assert main(["--env-file", "/nonexistent", "import-groups", str(EXAMPLE)]) == 0
    assert main(["--env-file", "/nonexistent", "import-groups", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "imported 12 groups" in out and "already exist" in out


async def test_moving_a_group_rewrites_the_subtree_paths(tmp_path: Path, database_url: str | None) -> None:
    db = await open_test_database(database_url, tmp_path / "m.db")
    try:
        await migrate(db)
        repo = GroupRepo(db)
        async with db.transaction() as tx:
            await group_store.insert_tree(tx, load_tree(EXAMPLE), SEED_TIME)
        groups = {g.name: g for g in await repo.all()}
        media, startup = groups["新媒体从业人员联谊会"], groups["创新创业人员联谊会"]
        async with db.transaction() as tx:
            moved = await group_store.move(tx, media.id, startup.id)
        assert moved.path == f"{startup.path}{media.id}/"
        club = next(g for g in await repo.all() if g.name == "新媒体读书会")
        assert club.path == f"{moved.path}{club.id}/"
    finally:
        await db.close()


def _bad(tmp_path: Path, body: str) -> str:
    path = tmp_path / "tree.toml"
    path.write_text(body, encoding="utf-8")
    import pytest

    from bot.members.org import ImportError_

    with pytest.raises(ImportError_) as caught:
        load_tree(path)
    return str(caught.value)


HEAD = '[[group]]\nname = "浦东新联总会"\nkind = "head"\n\n'


def test_import_refuses_an_overlong_name_with_its_line(tmp_path: Path) -> None:
    message = _bad(tmp_path, HEAD + f'  [[group.group]]\n  name = "{"长" * 5000}"\n  kind = "sub"\n')
    assert message.startswith("line 5: ") and "longer than" in message
    assert "长长长" not in message  # the offending text is not echoed back


def test_import_refuses_control_characters_in_a_name(tmp_path: Path) -> None:
    message = _bad(tmp_path, HEAD + '  [[group.group]]\n  name = "花木\\u001b[31m街道"\n  kind = "local"\n')
    assert message.startswith("line 5: ") and "control" in message


def test_import_refuses_requires_approval_written_as_text(tmp_path: Path) -> None:
    message = _bad(tmp_path, HEAD + '  [[group.group]]\n  name = "花木街道新联会"\n  requires_approval = "no"\n')
    assert message.startswith("line 5: ") and "true or false" in message


def test_import_refuses_a_head_association_below_the_top(tmp_path: Path) -> None:
    body = HEAD + '  [[group.group]]\n  name = "企业管理技术人员联谊会"\n  kind = "sub"\n\n' + (
        '    [[group.group.group]]\n    name = "又一个总会"\n    kind = "head"\n'
    )
    message = _bad(tmp_path, body)
    assert message.startswith("line 9: ") and "top level" in message


def test_import_refuses_unknown_keys_and_kinds(tmp_path: Path) -> None:
    assert "unknown key" in _bad(tmp_path, HEAD + '  [[group.group]]\n  name = "A"\n  parent = "x"\n')
    assert "unknown kind" in _bad(tmp_path, HEAD + '  [[group.group]]\n  name = "A"\n  kind = "district"\n')


def test_the_cli_reports_a_bad_file_in_one_line_and_creates_nothing(tmp_path: Path, capsys: object,
                                                                       monkeypatch: object) -> None:
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch) and isinstance(capsys, pytest.CaptureFixture)
    monkeypatch.setenv("LIAISON_DB", str(tmp_path / "cli.db"))
    path = tmp_path / "tree.toml"
    path.write_text(HEAD + '  [[group.group]]\n  name = "A"\n  requires_approval = "no"\n', encoding="utf-8")
    assert main(["--env-file", "/nonexistent", "import-groups", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "line 5" in err
