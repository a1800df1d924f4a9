"""Property: any sequence of tree operations leaves a file that reloads to the same tree and context."""

from __future__ import annotations

import tempfile
from pathlib import Path

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kit_py.session import (
    SessionManager,
    branch_summary,
    compaction,
    message,
    model_change,
    text_part,
    tool_call_part,
    tool_result_part,
)

texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
pick = st.integers(min_value=0, max_value=10_000)
ops = st.lists(
    st.one_of(
        st.tuples(st.just("user"), texts),
        st.tuples(st.just("step"), texts, st.sampled_from(["stop", "tool_use", "aborted", "error"])),
        st.tuples(st.just("model"), st.sampled_from(["a", "b"]), st.sampled_from([None, "low", "high"])),
        st.tuples(st.just("branch"), pick),
        st.tuples(st.just("branch_summary"), pick, texts),
        st.tuples(st.just("label"), pick, st.sampled_from(["", "x", "y"])),
        st.tuples(st.just("name"), texts),
        st.tuples(st.just("compaction"), pick, texts),
        st.tuples(st.just("move_leaf"), pick),
        st.tuples(st.just("reload")),
        st.tuples(st.just("fork"), pick),
    ),
    max_size=30,
)


def snapshot(m: SessionManager, leaf: str | None) -> tuple:
    ctx = m.build_context(leaf)
    children = {e["id"]: [c["id"] for c in m.children(e["id"])] for e in m.entries}
    return (
        m.entries,
        children,
        m.labels,
        m.name,
        ctx.messages,
        ctx.entry_ids,
        (ctx.provider, ctx.model, ctx.thinking_level),
        ctx.compaction,
        m.current_model() if leaf is None else 0,
    )


def check_file(path: Path) -> None:
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    parsed = [orjson.loads(x) for x in lines[:-1]]
    assert parsed[0]["type"] == "session"
    assert all("parent_id" not in e or isinstance(e["parent_id"], str) for e in parsed[1:])


def reload_and_compare(m: SessionManager, persisted_leaf: str | None) -> SessionManager:
    assert m.path is not None
    if not m.entries:
        assert not m.path.exists()
        return m
    check_file(m.path)
    again = SessionManager.open(m.path)
    assert again.warnings == []
    assert again.leaf_id == persisted_leaf
    assert snapshot(again, persisted_leaf) == snapshot(m, persisted_leaf)
    for e in m.entries[:: max(1, len(m.entries) // 5)]:
        assert snapshot(again, e["id"]) == snapshot(m, e["id"])
    m.close()
    return again


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_any_operation_sequence_round_trips(sequence: list[tuple]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        m = SessionManager.create(folder / "s", "/w")
        persisted: str | None = None
        for op in sequence:
            kind, args = op[0], op[1:]
            ids = [e["id"] for e in m.entries]
            if kind in ("branch", "branch_summary", "label", "move_leaf", "fork", "compaction") and not ids:
                continue
            if kind == "user":
                m.append(message("user", [text_part(args[0])]))
            elif kind == "step":
                m.append_many(
                    [
                        message(
                            "assistant",
                            [text_part(args[0]), tool_call_part("c", "t", "{}")],
                            stop_reason=args[1],
                        ),
                        message("tool", [tool_result_part("c", "t", args[0])]),
                    ]
                )
            elif kind == "model":
                m.append(model_change("p", args[0], args[1]))
            elif kind == "branch":
                m.branch(ids[args[0] % len(ids)])
                continue  # in memory only: the persisted leaf does not move
            elif kind == "branch_summary":
                m.append(branch_summary(ids[args[0] % len(ids)], args[1]))
            elif kind == "label":
                m.set_label(ids[args[0] % len(ids)], args[1])
            elif kind == "name":
                m.set_name(args[0])
            elif kind == "compaction":
                path = m.path_entries()
                if not path:
                    continue
                m.append(compaction(args[1], path[args[0] % len(path)]["id"], 10, 1, 1, [], ["f"]))
            elif kind == "move_leaf":
                m.move_leaf(ids[args[0] % len(ids)])
            elif kind == "reload":
                m = reload_and_compare(m, persisted)
                continue
            elif kind == "fork":
                target = ids[args[0] % len(ids)]
                fork = m.fork(target, folder / "forks")
                marker = m.get(target) or {}
                while marker.get("ext_type") == "kit:leaf":  # forking at a leaf marker forks at its target
                    target = marker["parent_id"]
                    marker = m.get(target) or {}
                assert fork.path is not None
                check_file(fork.path)
                again = SessionManager.open(fork.path)
                assert again.leaf_id == target and again.warnings == []
                assert [e["id"] for e in again.path_entries()] == [e["id"] for e in m.path_entries(target)]
                assert again.build_context().messages == m.build_context(target).messages
                fork.close()
                continue
            persisted = m.leaf_id
        reload_and_compare(m, persisted)


writer_ops = st.lists(
    st.tuples(
        st.sampled_from([0, 1]),  # which of two writers (processes) on one file
        st.sampled_from(["user", "answer", "turn", "branch", "move_leaf", "name", "reload"]),
        pick,
    ),
    max_size=25,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(writer_ops)
def test_two_writers_on_one_file_always_leave_one_valid_tree(sequence: list[tuple]) -> None:
    """Any interleaving of two writers: the file parses, reloads without warnings, holds every entry once;
    each writer's tree agrees with it; an answer is always the child of its writer's leaf."""
    with tempfile.TemporaryDirectory() as tmp:
        seed = SessionManager.create(Path(tmp), "/w")
        seed.append(message("user", [text_part("seed")]))
        path = seed.path
        assert path is not None
        writers = [SessionManager.open(path), SessionManager.open(path)]
        written: list[str] = [seed.entries[0]["id"]]
        for who, kind, n in sequence:
            m = writers[who]
            ids = [e["id"] for e in m.entries]
            if kind == "user":
                written.append(m.append(message("user", [text_part(f"{who}:{n}")]))["id"])
            elif kind == "answer":
                leaf = m.leaf_id
                answer = m.append(message("assistant", [text_part(f"{who}:{n}")]))
                assert answer.get("parent_id") == leaf, "an answer stays with what it answers"
                written.append(answer["id"])
            elif kind == "turn":
                turn = m.append_many(
                    [message("user", [text_part("q")]), message("assistant", [text_part("a")])]
                )
                assert turn[1]["parent_id"] == turn[0]["id"]
                written += [e["id"] for e in turn]
            elif kind == "branch":
                m.branch(ids[n % len(ids)])
            elif kind == "move_leaf":
                target = ids[n % len(ids)]
                written.append(m.move_leaf(target)["id"])
                assert m.leaf_id == target
            elif kind == "name":
                written.append(m.set_name(f"n{n}")["id"])
            elif kind == "reload":
                m.close()
                writers[who] = SessionManager.open(path)
        check_file(path)
        final = SessionManager.open(path)
        assert final.warnings == []
        assert [e["id"] for e in final.entries] == written
        for m in writers:
            assert [e["id"] for e in m.entries] == written[: len(m.entries)]
            for e in m.entries:
                assert m.tree.parent_of(e["id"]) == final.tree.parent_of(e["id"])
            m.close()
