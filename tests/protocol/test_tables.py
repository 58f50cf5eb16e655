"""Table-driven checks of the HJ 212 code tables against the standard texts."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import pytest

from protocol import commands, factors, flags, systems
from protocol.commands import (
    CN,
    COMMANDS,
    DATA_KIND,
    EXE_RTN,
    QN_RTN,
    Direction,
    Flow,
    command_class,
    command_info,
    is_reserved,
)
from protocol.factors import (
    FACTORS,
    GROUPS,
    INFO_CODES,
    INFO_FACTORS,
    INFO_VALUES,
    LEGACY_2005_CODES,
    LEGACY_TO_2017,
    PROCESS_CODE_CLASHES,
    UNIT_SYMBOLS,
    factor,
    factor_key,
    legacy_to_2017,
    resolve_factor,
)
from protocol.flags import (
    EXCLUDED_FROM_MEANS,
    FLAGS_2005_AIR,
    FLAGS_2005_SOURCE,
    FLAGS_2017,
    MAINTENANCE_FLAGS,
    VALID_FLAGS,
    describe,
    is_maintenance,
    is_valid,
)
from protocol.systems import SYSTEMS, SystemType, medium, st_category, system_info

# --------------------------------------------------------------------------- commands


@pytest.mark.parametrize(
    ("code", "direction", "flow", "editions"),
    [
        (1000, Direction.DOWNLINK, Flow.REQUEST, {"2005", "2017"}),
        (1011, Direction.BOTH, Flow.UPLOAD, {"2005", "2017"}),
        (1013, Direction.UPLINK, Flow.NOTIFY, {"2017"}),
        (1063, Direction.BOTH, Flow.UPLOAD, {"2017"}),
        (1064, Direction.DOWNLINK, Flow.REQUEST, {"2017"}),
        (2011, Direction.BOTH, Flow.UPLOAD, {"2005", "2017"}),
        (2012, Direction.DOWNLINK, Flow.NOTIFY, {"2005", "2017"}),
        (2021, Direction.BOTH, Flow.UPLOAD, {"2005", "2017"}),
        (2022, Direction.DOWNLINK, Flow.NOTIFY, {"2005", "2017"}),
        (2031, Direction.BOTH, Flow.UPLOAD, {"2005", "2017"}),
        (2041, Direction.BOTH, Flow.UPLOAD, {"2005", "2017"}),
        (2051, Direction.BOTH, Flow.UPLOAD, {"2005", "2017"}),
        (2061, Direction.BOTH, Flow.UPLOAD, {"2005", "2017"}),
        (2072, Direction.UPLINK, Flow.NOTIFY, {"2005"}),
        (2081, Direction.UPLINK, Flow.UPLOAD, {"2017"}),
        (3011, Direction.DOWNLINK, Flow.REQUEST, {"2005", "2017"}),
        (3015, Direction.BOTH, Flow.UPLOAD, {"2017"}),
        (3020, Direction.BOTH, Flow.UPLOAD, {"2017"}),
        (3021, Direction.DOWNLINK, Flow.REQUEST, {"2017"}),
        (9011, Direction.UPLINK, Flow.REPLY, {"2005", "2017"}),
        (9012, Direction.UPLINK, Flow.REPLY, {"2005", "2017"}),
        (9013, Direction.BOTH, Flow.REPLY, {"2005", "2017"}),
        (9014, Direction.BOTH, Flow.REPLY, {"2005", "2017"}),
        (8013, Direction.UPLINK, Flow.OTHER, {"vendor"}),
    ],
)
def test_command_direction_flow(
    code: int, direction: Direction, flow: Flow, editions: set[str]
) -> None:
    info = command_info(code)
    assert info is not None
    assert info.direction is direction
    assert info.flow is flow
    assert info.editions == editions


@pytest.mark.parametrize(
    ("member", "code"),
    [
        (CN.REALTIME_DATA, 2011),
        (CN.MINUTE_DATA, 2051),
        (CN.HOUR_DATA, 2061),
        (CN.DAY_DATA, 2031),
        (CN.EQUIPMENT_STATUS, 2021),
        (CN.EQUIPMENT_RUNTIME_DAY, 2041),
        (CN.POWER_ON_TIME, 2081),
        (CN.REQUEST_ANSWER, 9011),
        (CN.EXECUTION_RESULT, 9012),
        (CN.NOTIFY_ANSWER, 9013),
        (CN.DATA_ACK, 9014),
        (CN.FIELD_INFO, 3020),
        (CN.VENDOR_HEARTBEAT, 8013),
        (CN.HEARTBEAT, 9015),
        (CN.VENDOR_POW_RT, 2073),
        (CN.ALARM_EVENT, 2072),
    ],
)
def test_cn_member_values(member: CN, code: int) -> None:
    assert member == code
    assert CN(code) is member


@pytest.mark.parametrize(
    ("code", "name_zh"),
    [
        (1000, "设置超时时间及重发次数"),
        (1012, "设置现场机时间"),
        (1072, "设置现场机访问密码"),
        (2081, "上传数采仪开机时间"),
        (3011, "零点校准量程校准"),
        (3014, "比对采样"),
        (9011, "请求应答"),
        (9014, "数据应答"),
    ],
)
def test_command_names_from_table_9(code: int, name_zh: str) -> None:
    info = COMMANDS[code]
    assert info.name_zh == name_zh


def test_edition_specific_names() -> None:
    assert COMMANDS[3014].name_for("2005") == (
        "设置设备采样时间周期",
        "set equipment sampling times",
    )
    assert COMMANDS[3014].name_for("2017") == ("比对采样", "comparison sampling")
    assert COMMANDS[3013].name_for("2005")[0] == "设备操作命令"


def test_every_cn_member_has_a_command_entry() -> None:
    assert {int(m) for m in CN} == set(COMMANDS)
    for code, info in COMMANDS.items():
        assert info.code == code
        assert info.name_zh
        assert info.name_en
        assert info.editions
        assert info.editions <= {"2005", "2017", "2025", "vendor"}


def test_no_duplicate_codes_or_names() -> None:
    values = [m.value for m in CN]
    assert len(values) == len(set(values))
    assert len(CN.__members__) == len(CN)  # no aliases
    en_names = [info.name_en for info in COMMANDS.values()]
    assert len(en_names) == len(set(en_names))


def test_data_uploads() -> None:
    uploads = {code for code, info in COMMANDS.items() if info.is_data_upload}
    assert uploads == {2011, 2051, 2061, 2031} == set(DATA_KIND) == commands.DATA_UPLOAD_CODES
    assert dict(DATA_KIND) == {2011: "rtd", 2051: "minute", 2061: "hour", 2031: "day"}
    for code in uploads:
        assert "DataTime" in COMMANDS[code].cp_keys
        assert "xxxxxx-Flag" in COMMANDS[code].cp_keys
    assert "xxxxxx-Rtd" in COMMANDS[2011].cp_keys
    assert "xxxxxx-Avg" in COMMANDS[2061].cp_keys


@pytest.mark.parametrize(
    ("code", "key"),
    [
        (1000, "OverTime"),
        (1000, "ReCount"),
        (1062, "RtdInterval"),
        (1064, "MinInterval"),
        (1072, "NewPW"),
        (2021, "SBxxx-RS"),
        (2041, "SBxxx-RT"),
        (2081, "RestartTime"),
        (3015, "VaseNo"),
        (3016, "CstartTime"),
        (3018, "Stime"),
        (3019, "xxxxxx-SN"),
        (3020, "InfoId"),
        (9011, "QnRtn"),
        (9012, "ExeRtn"),
        (2072, "AlarmType"),
        (1042, "ReportTime"),
    ],
)
def test_cp_keys(code: int, key: str) -> None:
    assert key in COMMANDS[code].cp_keys


def test_reply_code_tables() -> None:
    assert QN_RTN[1] == ("准备执行请求", "ready to execute the request")
    assert QN_RTN[9][0] == "CRC 校验错误"
    assert QN_RTN[100][0] == "未知错误"
    assert set(QN_RTN) == {1, 2, 3, 4, 5, 6, 7, 8, 9, 100}
    assert EXE_RTN[1][0] == "执行成功"
    assert EXE_RTN[100][0] == "没有数据"
    assert set(EXE_RTN) == {1, 2, 3, 4, 5, 6, 100}
    assert set(QN_RTN) >= commands.QN_RTN_2005
    assert set(EXE_RTN) >= commands.EXE_RTN_2005


def test_unknown_command_and_ranges() -> None:
    assert command_info(4242) is None
    assert is_reserved(1005)
    assert is_reserved(3500)
    assert not is_reserved(2011)
    assert is_reserved(3050, "2005")
    assert command_class(1062) == "parameter"
    assert command_class(2011) == "data"
    assert command_class(3020) == "control"
    assert command_class(9014) == "interaction"
    assert command_class(8013) is None
    assert not (commands.UNNAMED_NONSTANDARD_CODES & set(COMMANDS))


# --------------------------------------------------------------------------- systems


@pytest.mark.parametrize(
    ("st", "name_zh", "category", "editions"),
    [
        ("21", "地表水质量监测", "quality", {"2005", "2017", "2025"}),
        ("22", "空气质量监测", "quality", {"2005", "2017", "2025"}),
        ("27", "挥发性有机物监测", "quality", {"2017", "2025"}),
        ("31", "大气环境污染源", "source", {"2005", "2017", "2025"}),
        ("32", "地表水体环境污染源", "source", {"2005", "2017", "2025"}),
        ("39", "工地扬尘污染源", "source", {"2017", "2025"}),
        ("41", "电磁环境污染源", "source", {"2005", "2017", "2025"}),
        ("51", "烟气排放过程监控", "process", {"2017", "2025"}),
        ("52", "污水排放过程监控", "process", {"2017", "2025"}),
        ("91", "系统交互", "interaction", {"2005", "2017", "2025"}),
        ("44", "用电监控", "source", {"2025"}),
        ("45", "关键生产工况监控", "source", {"2025"}),
    ],
)
def test_systems(st: str, name_zh: str, category: str, editions: set[str]) -> None:
    info = system_info(st)
    assert info is not None
    assert info.name_zh == name_zh
    assert info.category == category
    assert info.editions == editions
    assert st_category(st) == category


def test_system_table_is_complete_and_consistent() -> None:
    assert {m.value for m in SystemType} == set(SYSTEMS)
    assert len(SYSTEMS) == 22
    assert {c for c, i in SYSTEMS.items() if "2005" not in i.editions} == {
        "24",
        "25",
        "26",
        "27",
        "39",
        "44",
        "45",
        "51",
        "52",
    }
    assert {c for c, i in SYSTEMS.items() if "2025" not in i.editions} == set()
    for code, info in SYSTEMS.items():
        assert info.code == code
        assert info.name_zh
        assert info.name_en
        assert info.medium in {"water", "air", "noise", ""}
    assert SYSTEMS["23"].name_zh_2005 == "区域环境噪声监测"


@pytest.mark.parametrize(
    ("st", "expected"),
    [
        ("28", "quality"),
        ("45", "source"),
        ("60", "process"),
        ("99", "interaction"),
        ("A0", "extension"),
        ("Z9", "extension"),
        ("05", None),
        ("80", None),
        ("", None),
        ("321", None),
        ("a1", None),
    ],
)
def test_st_category_of_unknown_codes(st: str, expected: str | None) -> None:
    assert st_category(st) == expected
    if expected is not None and st not in SYSTEMS:
        assert system_info(st) is None


def test_medium() -> None:
    assert medium("32") == "water"
    assert medium("52") == "water"
    assert medium("31") == "air"
    assert medium("51") == "air"
    assert medium("23") == "noise"
    assert medium("91") is None
    assert medium(None) is None
    assert medium("ZZ") is None


# --------------------------------------------------------------------------- flags


@pytest.mark.parametrize(
    ("flag", "valid", "maintenance"),
    [
        (None, True, False),
        ("", True, False),
        ("N", True, False),
        ("S", True, False),
        ("M", False, True),
        ("C", False, True),
        ("D", False, True),
        ("F", False, True),
        ("P", False, True),
        ("T", False, False),
        ("B", False, False),
        ("3", True, False),
        ("1", True, False),
        ("0", False, True),
        ("2", False, False),
        ("m", False, True),
        ("n", True, False),
        ("X", True, False),  # unlisted (table 8 is extensible): kept, not maintenance
    ],
)
def test_flag_predicates(flag: str | None, valid: bool, maintenance: bool) -> None:
    assert is_valid(flag) is valid
    assert is_maintenance(flag) is maintenance


def test_flag_tables() -> None:
    assert list(FLAGS_2017) == ["N", "F", "M", "S", "D", "C", "T", "B"]
    assert set(FLAGS_2005_SOURCE) == set("PFCMTDSN")
    assert set(FLAGS_2005_AIR) == {"0", "1", "2", "3"}
    assert FLAGS_2017["M"].name_zh == "在线监控（监测）仪器仪表处于维护期间产生的数据"
    assert FLAGS_2005_SOURCE["P"].name_zh == "电源故障"
    assert FLAGS_2005_AIR["0"].name_zh == "校准数据"
    assert sorted(EXCLUDED_FROM_MEANS) == ["0", "2", "B", "C", "D", "F", "M", "P", "T"]
    assert sorted(VALID_FLAGS) == ["1", "3", "N", "S"]
    assert sorted(MAINTENANCE_FLAGS) == ["0", "C", "D", "F", "M", "P"]
    assert isinstance(EXCLUDED_FROM_MEANS, frozenset)
    assert isinstance(MAINTENANCE_FLAGS, frozenset)
    for table in (FLAGS_2017, FLAGS_2005_SOURCE, FLAGS_2005_AIR):
        for code, info in table.items():
            assert info.code == code
            assert info.name_zh
            assert info.name_en
            assert is_valid(code) is info.valid_for_statistics
            assert is_maintenance(code) is info.maintenance


def test_describe() -> None:
    f17 = describe("F", "2017")
    f05 = describe("F", "2005")
    assert f17 is not None
    assert f05 is not None
    assert f17.name_zh == "在线监控（监测）仪器仪表停运"
    assert f05.name_zh == "排放源停运"
    air = describe("3", "2005")
    assert air is not None
    assert air.name_en == "normal data"
    assert describe("3", "2005-source") is None
    assert describe("P", "2017") is None
    assert describe("Q", "2017") is None
    n = describe("n", "2017")
    assert n is not None
    assert n.code == "N"


# --------------------------------------------------------------------------- factors


@pytest.mark.parametrize(
    ("code", "name_zh", "unit", "cou_unit", "data_type", "group", "legacy"),
    [
        ("a21026", "二氧化硫", "mg/m³", "kg", "N5.2", "air", ("02",)),
        ("a21002", "氮氧化物", "mg/m³", "kg", "N5.1", "air", ("03",)),
        ("a21005", "一氧化碳", "mg/m³", "kg", "N3.3", "air", ("04",)),
        ("a34013", "烟尘", "mg/m³", "kg", "N4", "air", ("01",)),
        ("a00000", "废气", "m³/s", "m³", "N6.1", "air", ("B02",)),
        ("a19001", "氧气含量", "%", "", "N3.1", "air", ("S01",)),
        ("a01011", "烟气流速", "m/s", "", "N5.2", "air", ("S02",)),
        ("a01013", "烟气压力", "kPa", "", "N5.3", "air", ("S08",)),
        ("a34004", "细颗粒物 PM2.5", "µg/m³", "g", "N3.3", "air", ()),
        ("a34002", "可吸入颗粒物 PM10", "µg/m³", "g", "N3.3", "air", ()),
        ("a24088", "非甲烷总烃", "mg/m³", "kg", "N7.3", "air", ()),
        ("a01001", "温度", "°C", "", "N3.1", "meteorological", ()),
        ("a01008", "风向", "°", "", "N4", "meteorological", ()),
        ("w00000", "污水", "L/s", "m³", "N5.2", "water", ("B01",)),
        ("w01001", "pH 值", "", "", "N2.2", "water", ("001",)),
        ("w01018", "化学需氧量", "mg/L", "kg", "N5.1", "water", ("011",)),
        ("w21003", "氨氮", "mg/L", "kg", "N4.2", "water", ("060",)),
        ("w21011", "总磷", "mg/L", "kg", "N3.2", "water", ("101",)),
        ("w20111", "总汞", "µg/L", "g", "N3.2", "water", ("020",)),
        ("w01014", "电导率", "µS/cm", "", "N3.1", "water", ()),
        ("LA", "A 权声级", "dB", "", "N3.1", "noise", ("B03",)),
        ("Leq", "等效声级", "dB", "", "N3.1", "noise", ()),
        ("e101xx", "进水口流量", "L/s", "", "N6.2", "process_water", ()),
        ("g110xx", "浆液泵流量", "m³/h", "", "N4.3", "process_gas", ()),
    ],
)
def test_factor_spot_checks(
    code: str,
    name_zh: str,
    unit: str,
    cou_unit: str,
    data_type: str,
    group: str,
    legacy: tuple[str, ...],
) -> None:
    f = factor(code)
    assert f is not None
    assert f.code == code
    assert f.name_zh == name_zh
    assert f.unit == unit
    assert f.cou_unit == cou_unit
    assert f.data_type == data_type
    assert f.group == group
    assert f.legacy == legacy


def test_factor_table_sizes() -> None:
    by_group: dict[str, int] = {}
    for f in FACTORS.values():
        by_group[f.group] = by_group.get(f.group, 0) + 1
    assert by_group["water"] == 63  # every row of B.1
    assert by_group["air"] + by_group["meteorological"] == 121 + 1  # B.2 + a05024 O3
    assert by_group["meteorological"] == 5
    assert by_group["noise"] == 12  # B.3


def test_o3_is_present_although_not_in_b2() -> None:
    o3 = FACTORS["a05024"]
    assert o3.group == "air"
    assert o3.unit_zh == ""  # marks "not from the standard"


def test_every_factor_is_well_formed() -> None:
    for table in (FACTORS, INFO_FACTORS):
        for code, f in table.items():
            assert f.code == code
            assert f.name_zh.strip()
            assert f.name_en.strip()
            assert f.group in GROUPS
            assert not f.unit_zh or f.unit_zh in UNIT_SYMBOLS
            assert not f.cou_unit_zh or f.cou_unit_zh in UNIT_SYMBOLS
            assert dataclasses.is_dataclass(f)
    assert all(f.group == "info" for f in INFO_FACTORS.values())
    assert all(f.group != "info" for f in FACTORS.values())


def test_every_legacy_code_maps_to_an_existing_factor() -> None:
    assert LEGACY_TO_2017
    for old, new in LEGACY_TO_2017.items():
        assert new in FACTORS, (old, new)
        assert old not in FACTORS  # no old code is also a 2017 code
        assert old in FACTORS[new].legacy
    for f in FACTORS.values():
        for old in f.legacy:
            assert LEGACY_TO_2017[old] == f.code


def test_legacy_2005_table_agrees_with_the_2017_column() -> None:
    assert len(LEGACY_2005_CODES) == 93
    unmapped = {c for c, leg in LEGACY_2005_CODES.items() if not leg.code_2017}
    assert unmapped == {"16", "99", "025"}
    for code, leg in LEGACY_2005_CODES.items():
        assert leg.code == code
        assert leg.medium in {"water", "air", "noise"}
        if leg.code_2017 and leg.code_2017 != code:
            assert LEGACY_TO_2017[code] == leg.code_2017
        if leg.code_2017:
            assert leg.code_2017 in FACTORS
    assert LEGACY_2005_CODES["S04"].unit == "MPa"  # 2017 a01017 is kPa
    assert LEGACY_2005_CODES["020"].unit == "mg/L"  # 2017 w20111 is µg/L


@pytest.mark.parametrize(
    ("old", "st", "new"),
    [
        ("011", None, "w01018"),
        ("011", "32", "w01018"),
        ("060", "32", "w21003"),
        ("B01", "32", "w00000"),
        ("101", "32", "w21011"),
        ("02", None, "a21026"),
        ("02", "31", "a21026"),
        ("S01", "31", "a19001"),
        ("B02", "31", "a00000"),
        ("01", "31", "a34013"),
        ("01", "51", "a34013"),
        ("B03", "23", "LA"),
        ("L5", "23", "L5"),
        ("w01018", "31", "w01018"),  # already a 2017 code
        ("01", "32", None),  # gas code at a water station
        ("011", "31", None),  # water code at a flue-gas station
        ("01", "91", "a34013"),  # no medium: union table
        ("01", "ZZ", "a34013"),
        ("16", None, None),  # 2005 苯系物 has no 2017 code
        ("nope", None, None),
    ],
)
def test_legacy_to_2017(old: str, st: str | None, new: str | None) -> None:
    assert legacy_to_2017(old, st) == new


def test_old_codes_of_water_and_gas_do_not_collide() -> None:
    water = {c for c, leg in LEGACY_2005_CODES.items() if leg.medium == "water"}
    air = {c for c, leg in LEGACY_2005_CODES.items() if leg.medium == "air"}
    assert not water & air
    water17 = {old for old, new in LEGACY_TO_2017.items() if new.startswith("w")}
    air17 = {old for old, new in LEGACY_TO_2017.items() if new.startswith("a")}
    assert not water17 & air17


@pytest.mark.parametrize(
    ("code", "key"),
    [
        ("e10101", "e101xx"),
        ("e10199", "e101xx"),
        ("g11902", "g119xx"),
        ("i12001", "i12001"),
        ("I33400", "i33400"),
        ("i33312", "i3331x"),
        ("w01018", "w01018"),
        ("e99901", None),
        ("zzzzzz", None),
        ("x", None),
    ],
)
def test_factor_key(code: str, key: str | None) -> None:
    assert factor_key(code) == key
    if key is not None:
        f = factor(code)
        assert f is not None
        assert f.code == key


def test_resolve_factor() -> None:
    cod = resolve_factor("011", "32")
    assert cod is not None
    assert cod.code == "w01018"
    assert resolve_factor("011", "31") is None
    so2 = resolve_factor("a21026")
    assert so2 is not None
    assert so2.name_zh == "二氧化硫"


def test_process_code_clashes() -> None:
    assert set(PROCESS_CODE_CLASHES) == {"e701xx", "g119xx"}
    assert [f.name_zh for f in PROCESS_CODE_CLASHES["e701xx"]] == ["污水提升泵", "加药量"]
    assert [f.name_zh for f in PROCESS_CODE_CLASHES["g119xx"]] == ["脱硫率", "入口二氧化硫 SO2"]
    assert FACTORS["g119xx"].name_zh == "脱硫率"


def test_info_codes() -> None:
    assert INFO_CODES["i11001"] == ("运行日志", "instrument run log")
    assert INFO_CODES["i13004"][0] == "消解温度"
    assert INFO_FACTORS["i13004"].unit == "°C"
    assert INFO_VALUES["i12001"][1] == ("维护", "maintenance")  # C.42: i12001-Info=1
    assert INFO_VALUES["i22101"][2][0] == "通道未接设备"
    assert set(INFO_VALUES) <= set(INFO_CODES)
    assert set(INFO_CODES) == set(INFO_FACTORS)
    assert all(code[0] == "i" for code in INFO_CODES)


# --------------------------------------------------------------------------- immutability


@pytest.mark.parametrize(
    "table",
    [
        COMMANDS,
        QN_RTN,
        EXE_RTN,
        DATA_KIND,
        SYSTEMS,
        FLAGS_2017,
        FLAGS_2005_SOURCE,
        FLAGS_2005_AIR,
        FACTORS,
        INFO_FACTORS,
        INFO_CODES,
        INFO_VALUES,
        LEGACY_TO_2017,
        LEGACY_2005_CODES,
        PROCESS_CODE_CLASHES,
        UNIT_SYMBOLS,
    ],
)
def test_module_tables_are_read_only(table: object) -> None:
    assert isinstance(table, MappingProxyType)
    with pytest.raises(TypeError):
        table["new"] = None  # type: ignore[index]


@pytest.mark.parametrize(
    "obj",
    [COMMANDS[2011], SYSTEMS["32"], FLAGS_2017["N"], FACTORS["w01018"], LEGACY_2005_CODES["011"]],
)
def test_records_are_frozen(obj: object) -> None:
    assert not hasattr(obj, "__dict__")  # slotted
    field = dataclasses.fields(obj)[0].name  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(obj, field, "x")


def test_modules_are_stdlib_only() -> None:
    import sys

    for mod in (commands, factors, flags, systems):
        source = sys.modules[mod.__name__].__file__
        assert source is not None
        with open(source, encoding="utf-8") as fh:
            text = fh.read()
        imports = [
            line.split()[1]
            for line in text.splitlines()
            if line.startswith(("import ", "from ")) and not line.startswith("from .")
        ]
        assert set(imports) <= {
            "__future__",
            "collections.abc",
            "dataclasses",
            "enum",
            "types",
            "typing",
        }, imports
