"""Heatmaps: the network's own outputs over the input plane, as float32 or as 8-bit codes.

The float32 maps (computed in float32) are checked against ``POST …/predict`` (float64) at the
grid's points, to float32's precision; the codes
(``heatmaps.bits = 8``) against the float32 maps of the same step, each value within half a code
step — over the websocket (two viewers of one frame) and over ``GET …/at/{step}/frame``.
"""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pytest
from wsclient import Socket, bearer, open_socket, run

from server.frames import decode_frame, dequantize, encode_frame, quantize

Maker = Any
HEAT = ("heat.output", "heat.input", "heat.L0", "heat.L1")


def assert_within_half_a_step(
    floats: np.ndarray, specs: dict[str, Any], name: str, coded: np.ndarray
) -> None:
    spec = specs[name]
    assert spec["dtype"] == "q8", name
    channels = floats.reshape(len(spec["scale"]), -1).astype(np.float64)
    step = np.asarray(spec["scale"])[:, None]
    error = np.abs(coded.reshape(channels.shape).astype(np.float64) - channels)
    # half a code step, plus float32 rounding of the value and of the decoded result
    bound = step / 2 + 1e-6 * np.maximum(1.0, np.abs(channels))
    assert (error <= bound).all(), f"{name}: worst {error.max()} against half-step {step.max() / 2}"
    assert np.asarray(spec["lo"]) == pytest.approx(channels.min(axis=1), rel=1e-6, abs=1e-7)


# --- the codes themselves ------------------------------------------------------------------------


def test_each_channel_gets_its_own_range_and_round_trips_within_half_a_step() -> None:
    rng = np.random.default_rng(4)
    maps = np.stack([rng.uniform(-1, 1, (9, 9)), 1000 + rng.normal(0, 1e-3, (9, 9)), np.zeros((9, 9))])
    codes, lo, scale = quantize(maps)
    assert codes.dtype == np.uint8 and codes.shape == maps.shape
    assert lo == pytest.approx(maps.reshape(3, -1).min(axis=1).tolist(), rel=0, abs=0)
    assert scale[2] == 0.0, "a constant map has no range"
    back = dequantize(codes, lo, scale)
    assert back.dtype == np.float32
    for c in range(3):
        bound = scale[c] / 2 + 1e-7 * max(1.0, abs(maps[c]).max())
        assert np.abs(back[c].astype(np.float64) - maps[c]).max() <= bound
    assert codes[0].min() == 0 and codes[0].max() == 255, "the whole code range is used"


def test_a_map_with_nan_or_inf_goes_out_as_float32_not_as_plausible_codes() -> None:
    bad = np.array([[0.0, np.nan], [1.0, 2.0]])
    assert quantize(bad) is None
    assert quantize(np.array([[0.0, np.inf], [1.0, 2.0]])) is None
    message = encode_frame(
        {"type": "frame"}, [("heat.output", bad, "q8"), ("heat.L0", np.ones((2, 2, 2)), "q8")]
    )
    header, arrays = decode_frame(message)
    dtypes = {s["name"]: s["dtype"] for s in header["arrays"]}
    assert dtypes == {"heat.output": "f4", "heat.L0": "q8"}
    assert np.isnan(arrays["heat.output"][0, 1]) and arrays["heat.output"][1, 1] == 2.0
    assert (arrays["heat.L0"] == 1.0).all()


# --- over the real server -----------------------------------------------------------------------


def test_every_heatmap_is_the_networks_output_at_that_point_of_the_plane(
    http: httpx.Client, make_session: Maker
) -> None:
    sid, token = make_session()
    http.post(f"/api/sessions/{sid}/step", json={"steps": 7}, headers=bearer(token))
    response = http.get(f"/api/sessions/{sid}/at/7/frame", params={"output": 9, "nodes": 5, "bits": 32})
    _, arrays = decode_frame(response.content)
    lo, hi = http.get(f"/api/sessions/{sid}").json()["data"]["domain"]
    for name, r in (("output", 9), ("nodes", 5)):
        xs = np.linspace(lo, hi, r)
        # row 0 is the top of the plane (x2 high), columns run along x1 (docs/protocol.md)
        points = [[x1, x2] for x2 in xs[::-1] for x1 in xs]
        predicted = http.post(f"/api/sessions/{sid}/predict", json={"x": points}).json()
        if name == "output":
            want = np.asarray(predicted["outputs"])[:, 0].reshape(r, r)
            np.testing.assert_allclose(arrays["heat.output"], want, rtol=1e-5, atol=1e-6)
            continue
        np.testing.assert_allclose(arrays["heat.input"], np.asarray(points).T.reshape(2, r, r), rtol=1e-6)
        for k, layer in enumerate(predicted["layers"]):
            want = np.asarray(layer["a"]).T.reshape(-1, r, r)  # [units, r, r]
            np.testing.assert_allclose(arrays[f"heat.L{k}"], want, rtol=1e-5, atol=1e-6)



def test_a_q8_viewer_and_a_float32_viewer_see_the_same_maps_within_half_a_step(
    server_url: str, http: httpx.Client, make_session: Maker
) -> None:
    sid, token = make_session()

    async def body() -> tuple[dict[str, Any], dict[str, Any]]:
        async with open_socket(server_url, sid) as a_ws, open_socket(server_url, sid) as b_ws:
            floats, codes = Socket(a_ws), Socket(b_ws)
            heat = {"output": 40, "nodes": 12}
            reply = await floats.reply_to({"type": "subscribe", "id": 1, "heatmaps": heat})
            assert reply["subscription"]["heatmaps"] == {**heat, "bits": 32}
            reply = await codes.reply_to({"type": "subscribe", "id": 1, "heatmaps": {**heat, "bits": 8}})
            assert reply["subscription"]["heatmaps"] == {**heat, "bits": 8}
            http.post(f"/api/sessions/{sid}/step", json={"steps": 5}, headers=bearer(token))
            a = await floats.receive_until(lambda m: m.get("type") == "frame" and m["step"] == 5)
            b = await codes.receive_until(lambda m: m.get("type") == "frame" and m["step"] == 5)
            return a, b

    a, b = run(body())
    specs = {s["name"]: s for s in b["specs"]}
    for name in HEAT:
        assert a["arrays"][name].dtype == np.float32 and b["arrays"][name].shape == a["arrays"][name].shape
        assert_within_half_a_step(a["arrays"][name], specs, name, b["arrays"][name])
    assert {s["name"]: s["dtype"] for s in a["specs"]}["heat.output"] == "f4"
    # only the heatmaps are coded: tensors travel as float32 in both frames
    np.testing.assert_array_equal(a["arrays"]["L0.W"], b["arrays"]["L0.W"])
    assert b["bytes"] < a["bytes"]


def test_a_past_step_frame_can_carry_q8_heatmaps(http: httpx.Client, make_session: Maker) -> None:
    sid, token = make_session()
    http.post(f"/api/sessions/{sid}/step", json={"steps": 20}, headers=bearer(token))
    got = {}
    for bits in (32, 8):
        response = http.get(
            f"/api/sessions/{sid}/at/12/frame", params={"output": 24, "nodes": 8, "bits": bits}
        )
        assert response.status_code == 200, response.text
        got[bits] = decode_frame(response.content)
    specs = {s["name"]: s for s in got[8][0]["arrays"]}
    for name in HEAT:
        assert_within_half_a_step(got[32][1][name], specs, name, got[8][1][name])
    refused = http.get(f"/api/sessions/{sid}/at/12/frame", params={"bits": 16})
    assert refused.status_code == 422 and "bits" in refused.text


@pytest.mark.parametrize("bits", [16, 0, "8", True, None])
def test_subscribing_to_other_bit_depths_is_refused_with_what_to_send(
    server_url: str, make_session: Maker, bits: Any
) -> None:
    sid, _ = make_session()

    async def body() -> dict[str, Any]:
        async with open_socket(server_url, sid) as ws:
            return await Socket(ws).reply_to({"type": "subscribe", "id": 3, "heatmaps": {"bits": bits}})

    reply = run(body())
    assert reply["type"] == "error" and reply["code"] == 400
    assert "heatmaps.bits must be 8 or 32" in reply["message"]
