"""Classroom on the real server: presenting, joining, the view relay, forks, lessons and races."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import httpx
import pytest
from procserver import ServerProcess
from wsclient import Socket, bearer, open_socket, run

from server.classroom import CODE_ALPHABET, load_lessons

Maker = Any
LESSONS = list(load_lessons())  # in the order of their "order" fields


def is_event(name: str) -> Any:
    return lambda message: message.get("type") == "event" and message.get("event") == name


def present(http: httpx.Client, session_id: str, token: str, **body: Any) -> dict[str, Any]:
    response = http.post(f"/api/sessions/{session_id}/present", json=body, headers=bearer(token))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


# --- presenting and joining ----------------------------------------------------------------


def test_presenting_gives_a_six_character_code_a_join_link_and_an_svg_qr_code(
    http: httpx.Client, make_session: Maker
) -> None:
    sid, token = make_session()
    shown = present(http, sid, token)
    assert re.fullmatch(f"[{CODE_ALPHABET}]{{6}}", shown["code"])
    assert shown["link"] == f"/?join={shown['code']}"
    assert shown["url"].endswith(shown["link"]) and shown["url"].startswith("http://127.0.0.1:")
    assert shown["session"] == sid
    assert shown["qr_svg"].startswith("<svg") and "<path" in shown["qr_svg"]
    qr = http.get(shown["qr"])
    assert qr.status_code == 200
    assert qr.headers["content-type"].startswith("image/svg+xml")
    assert qr.text.startswith("<svg")
    # presenting again keeps the class's code
    assert present(http, sid, token)["code"] == shown["code"]


def test_only_the_control_token_turns_presenting_on_or_off(http: httpx.Client, make_session: Maker) -> None:
    sid, token = make_session()
    assert http.post(f"/api/sessions/{sid}/present").status_code == 401
    assert http.post(f"/api/sessions/{sid}/present", headers=bearer("not-the-token")).status_code == 403
    present(http, sid, token)
    assert http.delete(f"/api/sessions/{sid}/present").status_code == 401
    assert http.delete(f"/api/sessions/{sid}/present", headers=bearer("nope")).status_code == 403


def test_a_join_code_leads_to_the_presented_session_in_any_case(
    http: httpx.Client, make_session: Maker
) -> None:
    sid, token = make_session()
    code = present(http, sid, token)["code"]
    for typed in (code, code.lower(), f" {code} "):
        joined = http.get(f"/api/join/{typed.strip()}")
        assert joined.status_code == 200
        assert joined.json()["session"] == sid
        assert joined.json()["code"] == code
    missing = http.get("/api/join/ZZZZZZ")
    assert missing.status_code == 404
    assert "no class" in missing.json()["detail"]


def test_stopping_the_presentation_ends_its_join_code(http: httpx.Client, make_session: Maker) -> None:
    sid, token = make_session()
    code = present(http, sid, token)["code"]
    assert http.delete(f"/api/sessions/{sid}/present", headers=bearer(token)).json()["presenting"] is False
    assert http.get(f"/api/join/{code}").status_code == 404
    assert http.get(f"/api/join/{code}/qr.svg").status_code == 404


def test_a_class_moves_to_the_presenters_new_session_and_its_viewers_are_told(
    http: httpx.Client, make_session: Maker, server_url: str
) -> None:
    first, first_token = make_session()
    second, second_token = make_session()
    shown = present(http, first, first_token)

    async def body() -> dict[str, Any]:
        async with open_socket(server_url, first) as raw:
            viewer = Socket(raw)
            await viewer.receive_until(lambda m: m.get("type") == "hello")
            # the wrong secret moves nothing
            refused = http.post(
                f"/api/sessions/{second}/present",
                json={"code": shown["code"], "secret": "guess"},
                headers=bearer(second_token),
            )
            assert refused.status_code == 403
            moved = present(http, second, second_token, code=shown["code"], secret=shown["secret"])
            assert moved["code"] == shown["code"]
            return await viewer.receive_until(is_event("moved"))

    event = run(body())
    assert event["to"] == second and event["code"] == shown["code"]
    assert http.get(f"/api/join/{shown['code']}").json()["session"] == second


# --- the view relay --------------------------------------------------------------------------


def test_the_presenters_view_reaches_every_viewer_and_late_joiners_find_it_in_hello(
    http: httpx.Client, make_session: Maker, server_url: str
) -> None:
    sid, token = make_session()
    present(http, sid, token)
    view = {"panel": "explain", "explain": {"kind": "weight", "layer": 1, "param": "W", "index": [2, 0]}}

    async def body() -> tuple[list[dict[str, Any]], dict[str, Any]]:
        async with (
            open_socket(server_url, sid) as p,
            open_socket(server_url, sid) as a,
            open_socket(server_url, sid) as b,
        ):
            presenter, viewers = Socket(p), [Socket(a), Socket(b)]
            for s in (presenter, *viewers):
                await s.receive_until(lambda m: m.get("type") == "hello")
            ack = await presenter.reply_to({"type": "view", "token": token, "view": view, "id": 1})
            assert ack["type"] == "ack" and ack["action"] == "view"
            events = [await v.receive_until(is_event("view")) for v in viewers]
        async with open_socket(server_url, sid) as late:
            hello = await Socket(late).receive_until(lambda m: m.get("type") == "hello")
        return events, hello

    events, hello = run(body())
    assert [e["view"] for e in events] == [view, view]
    assert hello["view"] == view
    assert hello["presenting"] is not None
    assert http.get(f"/api/join/{hello['presenting']}").json()["view"] == view


def test_a_view_without_the_token_is_refused_and_changes_nothing(
    http: httpx.Client, make_session: Maker, server_url: str
) -> None:
    sid, token = make_session()
    code = present(http, sid, token)["code"]

    async def body() -> list[dict[str, Any]]:
        async with open_socket(server_url, sid) as raw:
            viewer = Socket(raw)
            await viewer.receive_until(lambda m: m.get("type") == "hello")
            return [
                await viewer.reply_to({"type": "view", "view": {"panel": "race"}, "id": 1}),
                await viewer.reply_to(
                    {"type": "view", "token": "forged", "view": {"panel": "race"}, "id": 2}
                ),
                await viewer.reply_to({"type": "view", "token": token, "view": "not an object", "id": 3}),
            ]

    no_token, forged, malformed = run(body())
    assert (no_token["type"], no_token["code"]) == ("error", 401)
    assert (forged["type"], forged["code"]) == ("error", 403)
    assert (malformed["type"], malformed["code"]) == ("error", 400)
    assert http.get(f"/api/join/{code}").json()["view"] is None


def test_a_view_of_a_session_that_is_not_presented_is_refused(make_session: Maker, server_url: str) -> None:
    sid, token = make_session()

    async def body() -> dict[str, Any]:
        async with open_socket(server_url, sid) as raw:
            s = Socket(raw)
            await s.receive_until(lambda m: m.get("type") == "hello")
            return await s.reply_to({"type": "view", "token": token, "view": {}, "id": 1})

    reply = run(body())
    assert reply["code"] == 409 and "present" in reply["message"]


def test_viewers_of_a_presented_session_cannot_change_it_by_any_route(
    http: httpx.Client, make_session: Maker, server_url: str
) -> None:
    sid, token = make_session()
    present(http, sid, token)
    before = http.get(f"/api/sessions/{sid}").json()

    async def body() -> list[dict[str, Any]]:
        async with open_socket(server_url, sid) as raw:
            viewer = Socket(raw)
            await viewer.receive_until(lambda m: m.get("type") == "hello")
            replies = []
            for k, action in enumerate(["step", "play", "reset", "set", "recover", "pause"], start=1):
                extra = {"training": {"optimizer": {"lr": 5.0}}} if action == "set" else {}
                replies.append(await viewer.reply_to({"type": "control", "action": action, "id": k, **extra}))
            replies.append(
                await viewer.reply_to({"type": "control", "token": "forged", "action": "step", "id": 9})
            )
            replies.append(await viewer.reply_to({"type": "auth", "token": "forged", "id": 10}))
            replies.append(await viewer.reply_to({"type": "subscribe", "lockstep": True, "id": 11}))
            return replies

    replies = run(body())
    assert all(r["type"] == "error" for r in replies), replies
    assert [r["code"] for r in replies] == [401] * 6 + [403, 403, 403]
    for method, path in [
        ("POST", "step"),
        ("POST", "play"),
        ("POST", "pause"),
        ("POST", "reset"),
        ("PATCH", ""),
        ("PUT", "params"),
        ("DELETE", ""),
        ("POST", "present"),
        ("DELETE", "present"),
    ]:
        url = f"/api/sessions/{sid}" + (f"/{path}" if path else "")
        body = {"layers": []} if path == "params" else {}
        assert http.request(method, url, json=body).status_code == 401, (method, path)
    after = http.get(f"/api/sessions/{sid}").json()
    assert after["step"] == before["step"] == 0
    assert after["config"] == before["config"]


# --- forks -----------------------------------------------------------------------------------


def test_a_viewer_forks_the_presented_session_and_the_fork_trains_on_its_own(
    http: httpx.Client, make_session: Maker
) -> None:
    sid, token = make_session()
    present(http, sid, token)
    http.post(f"/api/sessions/{sid}/step", json={"steps": 30}, headers=bearer(token))
    forked = http.post(f"/api/sessions/{sid}/fork", json={})  # a viewer: no token
    assert forked.status_code == 201, forked.text
    fork_id, fork_token = forked.json()["id"], forked.json()["control_token"]
    try:
        assert forked.json()["session"]["step"] == 30
        assert (
            http.get(f"/api/sessions/{fork_id}/params").json()["layers"]
            == (http.get(f"/api/sessions/{sid}/params").json()["layers"])
        )
        http.post(f"/api/sessions/{fork_id}/step", json={"steps": 70}, headers=bearer(fork_token))
        assert http.get(f"/api/sessions/{fork_id}").json()["step"] == 100
        assert http.get(f"/api/sessions/{sid}").json()["step"] == 30
        forks = http.get(f"/api/sessions/{sid}/forks").json()["forks"]
        assert [(f["id"], f["parent_step"], f["step"]) for f in forks] == [(fork_id, 30, 100)]
    finally:
        http.delete(f"/api/sessions/{fork_id}", headers=bearer(fork_token))


# --- lessons ---------------------------------------------------------------------------------


def test_the_lesson_list_holds_every_topic_of_the_course(http: httpx.Client) -> None:
    listed = http.get("/api/lessons").json()["lessons"]
    names = [lesson["name"] for lesson in listed]
    assert names == LESSONS
    assert names[0] == "one-step-by-hand"
    assert len(names) >= 9
    kinds = {lesson["architecture"] for lesson in listed}
    assert kinds == {"mlp", "cnn", "rnn"}
    assert all(lesson["steps"] >= 3 and lesson["title"] and lesson["summary"] for lesson in listed)


def test_an_unknown_lesson_is_a_404_that_lists_the_lessons(http: httpx.Client) -> None:
    for name in ("no-such-lesson", "xor.json", "UPPER"):
        response = http.get(f"/api/lessons/{name}")
        assert response.status_code == 404
        assert "one-step-by-hand" in response.json()["detail"]


@pytest.mark.parametrize("name", LESSONS)
def test_each_lesson_builds_a_session_and_its_steps_apply(
    name: str, http: httpx.Client, make_session: Maker
) -> None:
    lesson = http.get(f"/api/lessons/{name}").json()
    sid, token = make_session(lesson["config"])
    if lesson["params"]:
        assert (
            http.put(
                f"/api/sessions/{sid}/params", json={"layers": lesson["params"]}, headers=bearer(token)
            ).status_code
            == 200
        )
    stepped = http.post(f"/api/sessions/{sid}/step", json={"steps": 2}, headers=bearer(token))
    assert stepped.status_code == 200 and stepped.json()["step"] == 2
    for step in lesson["steps"]:
        assert step["text"]
        do = step["do"] or {}
        if "set" in do:
            patched = http.patch(f"/api/sessions/{sid}", json={"training": do["set"]}, headers=bearer(token))
            assert patched.status_code == 200, patched.text


def test_the_by_hand_lesson_reproduces_the_documented_first_step(
    http: httpx.Client, make_session: Maker
) -> None:
    lesson = http.get("/api/lessons/one-step-by-hand").json()
    sid, token = make_session(lesson["config"])
    http.put(f"/api/sessions/{sid}/params", json={"layers": lesson["params"]}, headers=bearer(token))
    result = http.post(f"/api/sessions/{sid}/step", json={"steps": 1}, headers=bearer(token)).json()
    assert result["losses"][0] == pytest.approx(0.536983, abs=1e-6)  # docs/backprop-by-hand.md


# --- races -----------------------------------------------------------------------------------

THREE_OPTIMIZERS = [
    {"label": "SGD", "training": {"optimizer": {"name": "sgd", "lr": 0.03}}},
    {"label": "momentum", "training": {"optimizer": {"name": "sgd", "lr": 0.03, "momentum": 0.9}}},
    {"label": "Adam", "training": {"optimizer": {"name": "adam", "lr": 0.01}}},
]


@pytest.fixture
def race(http: httpx.Client, small_config: dict[str, Any]) -> Any:
    created = http.post("/api/races", json={"config": small_config, "variants": THREE_OPTIMIZERS})
    assert created.status_code == 201, created.text
    body = created.json()
    yield body
    http.delete(f"/api/races/{body['id']}", headers=bearer(body["control_token"]))


def test_a_race_starts_its_members_from_the_same_weights_with_their_own_optimizers(
    http: httpx.Client, race: dict[str, Any]
) -> None:
    members = race["race"]["members"]
    assert [m["label"] for m in members] == ["SGD", "momentum", "Adam"]
    assert [m["training"]["optimizer"]["name"] for m in members] == ["sgd", "sgd", "adam"]
    params = [http.get(f"/api/sessions/{m['id']}/params").json()["layers"] for m in members]
    assert params[0] == params[1] == params[2]
    data = [http.get(f"/api/sessions/{m['id']}").json()["data"] for m in members]
    assert data[0] == data[1] == data[2]


def test_a_race_steps_every_member_together_and_gives_one_curve_each(
    http: httpx.Client, race: dict[str, Any]
) -> None:
    rid, token = race["id"], race["control_token"]
    stepped = http.post(f"/api/races/{rid}/step", json={"steps": 40}, headers=bearer(token)).json()
    assert stepped["step"] == 40
    assert [m["step"] for m in stepped["members"]] == [40, 40, 40]
    curves = [m["curve"] for m in stepped["members"]]
    assert [c["steps"][-1] for c in curves] == [40, 40, 40]
    assert all(len(c["loss"]) == len(c["steps"]) == 40 for c in curves)
    assert curves[0]["loss"][0] == curves[1]["loss"][0]  # the first batch is the same for all
    assert len({c["loss"][-1] for c in curves}) == 3  # then the optimizers part ways


def test_a_played_race_stops_with_every_member_at_max_steps(http: httpx.Client, race: dict[str, Any]) -> None:
    rid, token = race["id"], race["control_token"]
    assert (
        http.post(f"/api/races/{rid}/play", json={"max_steps": 300}, headers=bearer(token)).status_code == 200
    )
    deadline = time.monotonic() + 30
    info = http.get(f"/api/races/{rid}").json()
    while info["playing"] and time.monotonic() < deadline:
        time.sleep(0.05)
        info = http.get(f"/api/races/{rid}").json()
    assert not info["playing"]
    assert info["stop_reason"] == "reached max_steps 300"
    assert [m["step"] for m in info["members"]] == [300, 300, 300]


def test_the_race_landscape_is_a_grid_of_losses_with_every_members_path_on_it(
    http: httpx.Client, race: dict[str, Any]
) -> None:
    rid, token = race["id"], race["control_token"]
    for _ in range(5):
        http.post(f"/api/races/{rid}/step", json={"steps": 20}, headers=bearer(token))
    for directions in ("principal", "random"):
        land = http.get(f"/api/races/{rid}/landscape", params={"res": 9, "directions": directions})
        assert land.status_code == 200, land.text
        body = land.json()
        assert body["directions"] == directions
        assert len(body["alphas"]) == len(body["betas"]) == 9
        assert len(body["grid"]) == 9 and all(len(row) == 9 for row in body["grid"])
        assert all(v is not None and v > 0 for row in body["grid"] for v in row)
        assert [m["label"] for m in body["members"]] == ["SGD", "momentum", "Adam"]
        for member in body["members"]:
            assert member["steps"] == [0, 20, 40, 60, 80, 100]
            assert len(member["path"]) == 6
            assert all(
                abs(a) <= body["alphas"][-1] and abs(b) <= body["betas"][-1] for a, b in member["path"]
            )
        starts = {tuple(m["path"][0]) for m in body["members"]}
        assert len(starts) == 1  # one shared start
    assert http.get(f"/api/races/{rid}/landscape", params={"res": 2}).status_code == 422


def test_only_the_race_token_steps_plays_resets_or_deletes_a_race(
    http: httpx.Client, race: dict[str, Any]
) -> None:
    rid = race["id"]
    member_token_refused = http.post(
        f"/api/sessions/{race['race']['members'][0]['id']}/step", headers=bearer(race["control_token"])
    )
    assert member_token_refused.status_code == 403  # the members' own tokens stay with the race
    for method, path in [
        ("POST", "step"),
        ("POST", "play"),
        ("POST", "pause"),
        ("POST", "reset"),
        ("DELETE", ""),
    ]:
        url = f"/api/races/{rid}" + (f"/{path}" if path else "")
        assert http.request(method, url).status_code == 401
        assert http.request(method, url, headers=bearer("forged")).status_code == 403
    assert http.get(f"/api/races/{rid}").json()["step"] == 0


def test_deleting_a_race_deletes_its_members(http: httpx.Client, small_config: dict[str, Any]) -> None:
    body = http.post("/api/races", json={"config": small_config, "variants": THREE_OPTIMIZERS[:2]}).json()
    ids = [m["id"] for m in body["race"]["members"]]
    assert http.delete(f"/api/races/{body['id']}", headers=bearer(body["control_token"])).status_code == 200
    assert http.get(f"/api/races/{body['id']}").status_code == 404
    assert all(http.get(f"/api/sessions/{i}").status_code == 404 for i in ids)


def test_a_race_with_a_bad_variant_is_refused_and_leaves_no_sessions_behind(
    http: httpx.Client, small_config: dict[str, Any]
) -> None:
    before = len(http.get("/api/sessions").json()["sessions"])
    bad = [
        THREE_OPTIMIZERS[0],
        {"training": {"optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.0, "nesterov": True}}},
    ]
    response = http.post("/api/races", json={"config": small_config, "variants": bad})
    assert response.status_code == 422
    one = http.post("/api/races", json={"config": small_config, "variants": THREE_OPTIMIZERS[:1]})
    assert one.status_code == 422  # a race needs two runners at least
    assert len(http.get("/api/sessions").json()["sessions"]) == before


def test_race_members_can_be_watched_like_any_session(
    http: httpx.Client, race: dict[str, Any], server_url: str
) -> None:
    member = race["race"]["members"][2]["id"]

    async def body() -> dict[str, Any]:
        async with open_socket(server_url, member) as raw:
            watcher = Socket(raw)
            await watcher.receive_until(lambda m: m.get("type") == "hello")
            http.post(
                f"/api/races/{race['id']}/step", json={"steps": 5}, headers=bearer(race["control_token"])
            )
            return await watcher.receive_until(lambda m: m.get("type") == "frame" and m.get("step") == 5)

    frame = asyncio.run(body())
    assert frame["session"] == member


def test_a_playing_race_nobody_reads_or_watches_pauses_itself(small_config: dict[str, Any]) -> None:
    # A page that started a race and went away must not leave it training for ever. The server
    # here pauses unwatched races after 3 s instead of the default 120 s.
    server = ServerProcess(None, env={"BACKPROP_LAB_RACE_UNWATCHED_SECONDS": "3"}).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as api:
            body = api.post(
                "/api/races", json={"config": small_config, "variants": THREE_OPTIMIZERS[:2]}
            ).json()
            rid, auth = body["id"], bearer(body["control_token"])
            assert api.post(f"/api/races/{rid}/play", json={}, headers=auth).status_code == 200
            # reading it keeps it going, longer than the 3 s …
            for _ in range(10):
                time.sleep(0.5)
                assert api.get(f"/api/races/{rid}").json()["playing"]
            # … and with nobody reading it stops, saying why
            time.sleep(5.0)
            info = api.get(f"/api/races/{rid}").json()
            assert not info["playing"]
            assert "nobody read or watched" in info["stop_reason"]
            step = info["step"]
            time.sleep(0.5)
            assert api.get(f"/api/races/{rid}").json()["step"] == step
    finally:
        server.ensure_stopped()
