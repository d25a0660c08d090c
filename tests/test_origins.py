"""Origin attribution on the toy network, against shares computed by hand."""

from __future__ import annotations

import pytest

from chokepoint import origin_shares, product_origins
from chokepoint.analysis.origins import material_origins_by_stage


def shares_of(toy, node: str, traced: str) -> dict[str, float]:
    frame = origin_shares(toy, traced)
    part = frame[frame["node"] == node]
    return dict(zip(part["country"], part["share"], strict=True))


def test_magnet_origin_in_motor(toy) -> None:
    assert shares_of(toy, "motor_deu", "magnet") == pytest.approx({"CHN": 0.8, "DEU": 0.2})


def test_oxide_origin_in_motor(toy) -> None:
    # 0.8 via mag_chn (all CHN oxide), 0.15 via mag_deu (0.6 CHN, 0.4 MYS), 0.05 recycled in DEU.
    assert shares_of(toy, "motor_deu", "oxide") == pytest.approx(
        {"CHN": 0.8 + 0.15 * 0.6, "MYS": 0.15 * 0.4, "DEU": 0.05}
    )


def test_ore_origin_through_two_inputs(toy) -> None:
    # A magnet holds 0.3 t ore via NdPr oxide and 0.03 t via Dy oxide: weights 10/11 and 1/11.
    # mag_chn: oxide from sep_chn (CHN 0.9, MMR 0.1); Dy from sep_dy_chn (CHN 0.5, unknown 0.5).
    # mag_deu: oxide 0.6 sep_chn + 0.4 sep_mys (AUS); Dy as above.
    mag_chn = {"CHN": 9.5 / 11, "MMR": 1 / 11, "UNK": 0.5 / 11}
    mag_deu = {"CHN": 5.9 / 11, "MMR": 0.6 / 11, "AUS": 4 / 11, "UNK": 0.5 / 11}
    assert shares_of(toy, "mag_chn", "ore") == pytest.approx(mag_chn)
    assert shares_of(toy, "mag_deu", "ore") == pytest.approx(mag_deu)
    expected = {
        c: 0.8 * mag_chn.get(c, 0) + 0.15 * mag_deu.get(c, 0) for c in ("CHN", "MMR", "AUS", "UNK")
    }
    expected["DEU"] = 0.05
    assert shares_of(toy, "motor_deu", "ore") == pytest.approx(expected)
    assert shares_of(toy, "cars_eu", "ore") == pytest.approx(expected)


def test_content_quantities(toy) -> None:
    frame = origin_shares(toy, "oxide")
    motor = frame[frame["node"] == "motor_deu"]
    assert motor["content"].sum() == pytest.approx(10_000 * 0.002 * 0.3)


def test_shares_sum_to_one_everywhere(toy) -> None:
    frame = origin_shares(toy)
    totals = frame.groupby(["node", "traced"])["share"].sum()
    assert totals.to_numpy() == pytest.approx(1.0)


def test_product_origins_region(toy) -> None:
    frame = product_origins(toy, "motor", "EU", "dy_oxide").set_index("country")
    assert frame["share"].to_dict() == pytest.approx({"CHN": 0.95, "DEU": 0.05})
    assert frame["content"].sum() == pytest.approx(10_000 * 0.002 * 0.03)


def test_material_origins_by_stage(toy) -> None:
    stages = material_origins_by_stage(toy, "motor", "rare_earths", "EU")
    separation = stages[stages["stage"] == "separation"].set_index("country")["content"]
    # 6 t NdPr oxide (CHN 0.89, MYS 0.06, DEU 0.05) + 0.6 t Dy oxide (CHN 0.95, DEU 0.05)
    assert separation["CHN"] == pytest.approx(6 * 0.89 + 0.6 * 0.95)
    assert separation.sum() == pytest.approx(6.6)
    assert list(stages["stage"].unique()) == ["mining", "separation", "magnet"]
