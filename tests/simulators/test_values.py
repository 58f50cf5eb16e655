"""Value generator: determinism, plausibility, diurnal/weekly shape, correlations, aggregates."""

from __future__ import annotations

import math
import statistics
from zoneinfo import ZoneInfo

import pytest

from simulators.periods import Derivations, PeriodAccumulator
from simulators.profiles import PROFILES, Shape, profile_for, wire_codes
from simulators.values import ValueModel, Weather, format_value

TZ = ZoneInfo("Asia/Shanghai")
T0 = 1714492800  # 2024-05-01 00:00 Asia/Shanghai
HOUR = 3600
DAY = 86400


def model(st: str = "22", *, seed: int = 1, index: int = 0, region: str = "R01") -> ValueModel:
    return ValueModel(
        profile_for(st),
        seed=seed,
        index=index,
        region=region,
        urban=0.5,
        weather=Weather(seed),
        tz=TZ,
    )


def series(m: ValueModel, code: str, times: range) -> list[float]:
    i = m.profile.index(code)
    return [m.sample(t)[i] for t in times]


def corr(a: list[float], b: list[float]) -> float:
    return statistics.correlation(a, b)


def test_same_seed_same_values_different_seed_different() -> None:
    a, b = model(seed=7, index=3), model(seed=7, index=3)
    times = range(T0, T0 + DAY, 977)
    assert [a.sample(t) for t in times] == [b.sample(t) for t in times]
    c = model(seed=8, index=3)
    assert [a.sample(t) for t in times] != [c.sample(t) for t in times]
    d = model(seed=7, index=4)
    assert [a.sample(t) for t in times] != [d.sample(t) for t in times]


def test_order_of_evaluation_does_not_matter() -> None:
    times = list(range(T0, T0 + 2 * DAY, 1800))
    forward = model()
    backward = model()
    fwd = [forward.sample(t) for t in times]
    bwd = [backward.sample(t) for t in reversed(times)]
    assert fwd == list(reversed(bwd))


@pytest.mark.parametrize("st", sorted(PROFILES))
def test_values_stay_plausible_for_two_weeks(st: str) -> None:
    m = model(st, index=5)
    profile = m.profile
    cols: list[list[float]] = [[] for _ in profile.factors]
    for t in range(T0, T0 + 14 * DAY, 600):
        for i, v in enumerate(m.sample(t)):
            cols[i].append(v)
    for f, col in zip(profile.factors, cols, strict=True):
        assert min(col) >= f.low, f.code
        assert max(col) <= f.high, f.code
        if f.shape is Shape.WIND_DIRECTION:
            assert min(col) >= 0 and max(col) < 360
            continue
        median = statistics.median(col)
        assert f.level / 3 <= median <= f.level * 3, (f.code, median, f.level)
        assert statistics.pstdev(col) > 0, f.code


def test_ozone_peaks_in_the_afternoon_and_no2_at_rush_hour() -> None:
    m = model("22")
    days = range(T0, T0 + 30 * DAY, DAY)
    o3 = m.profile.index("a05024")
    no2 = m.profile.index("a21004")

    def mean_at(i: int, hour: float) -> float:
        return statistics.mean(m.sample(d + int(hour * HOUR))[i] for d in days)

    assert mean_at(o3, 15) > 1.8 * mean_at(o3, 5)
    assert mean_at(no2, 8.5) > 1.3 * mean_at(no2, 4)
    assert mean_at(no2, 19) > 1.3 * mean_at(no2, 4)


def test_weekend_traffic_is_lower() -> None:
    m = model("22")
    no2 = m.profile.index("a21004")
    weekday, sunday = [], []
    for t in range(T0, T0 + 8 * 7 * DAY, HOUR):
        # noise-free enough over 8 weeks: compare the weekly factor through the mean
        wd = (t + 8 * HOUR) // DAY % 7  # 1970-01-01 was a Thursday
        (sunday if wd == 3 else weekday).append(m.sample(t)[no2])
    assert statistics.mean(sunday) < statistics.mean(weekday)


def test_pollutants_move_together_and_ozone_against_no2() -> None:
    m = model("22")
    times = range(T0, T0 + 30 * DAY, HOUR)
    pm25, pm10 = series(m, "a34004", times), series(m, "a34002", times)
    co, no2, o3 = series(m, "a21005", times), series(m, "a21004", times), series(m, "a05024", times)
    assert corr(pm25, pm10) > 0.8
    assert corr(pm25, co) > 0.5
    assert corr(no2, o3) < -0.1


def test_stations_of_one_district_share_the_weather() -> None:
    times = range(T0, T0 + 30 * DAY, 3 * HOUR)
    a = series(model("22", index=1, region="R02"), "a34004", times)
    b = series(model("22", index=2, region="R02"), "a34004", times)
    assert corr(a, b) > 0.7


def test_flue_oxygen_falls_when_flow_rises() -> None:
    m = model("31")
    times = range(T0, T0 + 14 * DAY, HOUR)
    assert corr(series(m, "a19001", times), series(m, "a00000", times)) < -0.5


@pytest.mark.parametrize(
    ("value", "decimals", "text"),
    [
        (1.25, 1, "1.2"),
        (0.0004, 3, "0.000"),
        (-0.0001, 2, "0.00"),
        (12.0, 0, "12"),
        (7.456, 2, "7.46"),
    ],
)
def test_format_value(value: float, decimals: int, text: str) -> None:
    assert format_value(value, decimals) == text


def test_period_accumulator_is_consistent_with_the_samples() -> None:
    profile = profile_for("32")
    codes = wire_codes(profile, "2017")
    derive = Derivations(profile)
    m = model("32")
    acc = PeriodAccumulator(profile, T0)
    sent: list[list[float]] = []
    cou_total = [0.0] * len(profile.factors)
    for t in range(T0, T0 + HOUR, 30):
        values = [
            float(format_value(v, f.decimals))
            for v, f in zip(m.sample(t), profile.factors, strict=True)
        ]
        cou = derive.cou(values, 30)
        acc.add(values, ["N"] * len(values), derive.zs(values), cou)
        sent.append(values)
        cou_total = [a + b for a, b in zip(cou_total, cou, strict=True)]
    out = acc.values(codes)
    assert acc.count == 120
    for i, f in enumerate(profile.factors):
        col = [row[i] for row in sent]
        fields = out[f.code]
        assert fields["Min"] == format_value(min(col), f.decimals)
        assert fields["Max"] == format_value(max(col), f.decimals)
        assert fields["Avg"] == format_value(statistics.mean(col), f.decimals)
        assert fields["Flag"] == "N"
        if f.cou is not None:
            assert float(fields["Cou"]) == pytest.approx(cou_total[i], abs=0.01)
    # the flow's Cou is its volume: L/s × s / 1000
    flow = [row[profile.index("w00000")] for row in sent]
    assert float(out["w00000"]["Cou"]) == pytest.approx(sum(flow) * 30 / 1000, abs=0.01)
    assert list(out["w00000"]) == ["Cou", "Min", "Avg", "Max", "Flag"]


def test_flue_gas_has_converted_values() -> None:
    profile = profile_for("31")
    derive = Derivations(profile)
    values = [10.0, 20.0, 30.0, 15.0, 50.0, 10.0, 60.0]  # O2 = 15 %
    zs = derive.zs(values)
    assert zs[0] == pytest.approx(10.0 * (21 - 6) / (21 - 15))
    assert zs[profile.index("a19001")] is None
    acc = PeriodAccumulator(profile, T0)
    acc.add(values, ["N"] * 7, zs, derive.cou(values, 60))
    fields = acc.values(wire_codes(profile, "2017"))["a34013"]
    assert fields["ZsAvg"] == "25.00"
    assert float(fields["Cou"]) == pytest.approx(10.0 * 60.0 * 60 * 1e-6, abs=1e-3)


@pytest.mark.parametrize(
    ("st", "flags", "expected"),
    [
        ("32", ["N", "N", "N", "M"], "M"),  # wastewater: one abnormal value → abnormal
        ("31", ["N", "N", "N", "M"], "N"),  # flue gas: ≥ 75 % normal → N
        ("31", ["N", "N", "M", "M"], "D"),  # flue gas: else D ([S17] C.16 note)
        ("22", ["N", "C", "C", "C"], "C"),  # others: the commonest abnormal flag
    ],
)
def test_period_flag_rules(st: str, flags: list[str], expected: str) -> None:
    profile = profile_for(st)
    n = len(profile.factors)
    acc = PeriodAccumulator(profile, T0)
    for flag in flags:
        acc.add([1.0] * n, [flag] + ["N"] * (n - 1), [None] * n, [0.0] * n)
    assert acc.values(wire_codes(profile, "2017"))[profile.factors[0].code]["Flag"] == expected


def test_wind_direction_average_is_circular() -> None:
    profile = profile_for("22")
    n = len(profile.factors)
    wd = profile.index("a01008")
    acc = PeriodAccumulator(profile, T0)
    for angle in (350.0, 10.0):
        values = [1.0] * n
        values[wd] = angle
        acc.add(values, ["N"] * n, [None] * n, [0.0] * n)
    avg = float(acc.values(wire_codes(profile, "2017"))["a01008"]["Avg"])
    assert min(avg, 360 - avg) < 1


def test_noise_station_reports_statistical_levels() -> None:
    profile = profile_for("23")
    acc = PeriodAccumulator(profile, T0)
    for level in [50.0] * 9 + [70.0]:
        acc.add([level], ["N"], [None], [0.0])
    out = acc.values(("LA",))
    assert set(out) == {"Leq", "L10", "L50", "L90", "LMx", "LMn"}
    assert out["LMx"] == {"Data": "70.0"} and out["LMn"] == {"Data": "50.0"}
    leq = 10 * math.log10((9 * 10**5 + 10**7) / 10)
    assert out["Leq"]["Data"] == format_value(leq, 1)


def test_empty_period_has_no_values() -> None:
    assert (
        PeriodAccumulator(profile_for("22"), T0).values(wire_codes(profile_for("22"), "2017")) == {}
    )
