"""HJ 212 monitoring-factor codes (the ``xxxxxx`` in ``xxxxxx-Rtd``) and legacy code mapping.

Sources (HJ 212-2017 App. B, "常用监测因子和设备信息编码表（可扩充）"):

* B.1 water factors (引用 HJ 525-2009), B.2 gas factors (引用 HJ 524-2009), B.3 acoustic
  environment factors (GB 3096-2008) → :data:`FACTORS`;
* B.5 / B.7 process ("工况") factors of wastewater / flue-gas treatment → :data:`FACTORS`
  with the group "process_water" / "process_gas".  Their codes end in ``xx``, the number
  (01-99) of identical devices in one process; :func:`factor` resolves ``e10101`` to the
  ``e101xx`` entry.  B.4 / B.6 (process types) → :data:`PROCESS_TYPES_WATER` /
  :data:`PROCESS_TYPES_GAS`;
* B.8-B.10 field-machine information codes (``i1xxxx`` instrument, ``i2xxxx`` data logger,
  ``i3xxxx`` auxiliary equipment; the values of ``xxxxxx-Info``) → :data:`INFO_FACTORS`,
  :data:`INFO_CODES`, :data:`INFO_VALUES`;
* the "原编码" column of B.1/B.2 and HJ/T 212-2005 App. B → :data:`LEGACY_TO_2017`,
  :data:`LEGACY_2005_CODES`.

Units: ``unit_zh`` / ``cou_unit_zh`` keep the standard's wording verbatim ("缺省计量单位
（浓度）/（排放量）"); ``unit`` / ``cou_unit`` are the usual symbols (:data:`UNIT_SYMBOLS`).
They are the standard's *defaults*; real devices differ, so treat units as per-platform
configuration.  Notably B.2 literally gives 纳克/立方米 (ng/m³) for PM10, PM2.5, TSP, NH3 and
some metals, and the 2005 App. B gives mg/l for every water factor (2017: µg/L or ng/L for
Hg, Cd, Cr(VI), As, Pb, Be, Se, Tl, alkyl-Hg, ...) and MPa for flue-gas pressures (2017: kPa).

Things in the text that are wrong or ambiguous, and what this module does:

* B.5 lists ``e701xx`` twice (污水提升泵 and, after e710xx, 加药量 — probably meant e711xx)
  and B.7 lists ``g119xx`` twice (脱硫率 in the g1xx wet-FGD block and 入口二氧化硫 SO2
  at the head of the inlet/outlet block g119xx-g134xx).  :data:`FACTORS` keeps the first
  definition; :data:`PROCESS_CODE_CLASHES` lists every definition for these codes.
* B.10 prints ``I33400`` (capital I); it is stored as ``i33400`` and :func:`factor` is
  case-insensitive for ``i`` codes.  B.10 gives 摄氏度 as the unit of i33102 (station
  humidity); kept as printed.
* O3 (``a05024``) is **not** in B.2 but is used in practice (HJ 524 code, ambient-air
  platforms); it is included with the unit those platforms use, not one from HJ 212.
* HJ/T 212-2005 App. B swaps the noise names (``Ld`` 夜间 / ``Ln`` 昼间); the 2017 meaning
  (``Ld`` day, ``Ln`` night) is used for both editions.  The 2005 generic ``B03`` 噪声 is
  mapped to ``LA`` (A-weighted level) following the B03 ↔ LA pairing of PROTOCOL.md §5;
  2017 B.3 has no "原编码" column.
* 2005 codes with no 2017 counterpart: ``16`` 苯系物, ``99`` 其他气污染物, ``025`` 三价铬.
  They are in :data:`LEGACY_2005_CODES` with an empty ``code_2017``, not in
  :data:`LEGACY_TO_2017`.

Legacy codes and the station type.  In the texts, old water codes are three digits (or
``B01``) and old gas codes two digits (or ``B02``, ``S01``-``S08``), so no old code string
appears in both tables and :data:`LEGACY_TO_2017` is unambiguous.  Field devices are not
always that tidy (``01`` flue dust vs ``001`` pH, ``10`` NH3 vs ``010`` BOD5 differ only by
a leading zero), so :func:`legacy_to_2017` uses the ST when it names a medium: a water
station (ST 21, 24, 26, 32, 33, 34, 52) only resolves water codes, an air station (22, 27,
31, 39, 51) only gas codes, a noise station (23, 36) only noise codes; a code of the other
medium returns None rather than a wrong factor.  With no ST, ST 91 or an ST without a
medium (25, 35, 37, 38, 41, unknown codes) the union table is used.

This module is pure data: no I/O, stdlib only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from .systems import medium as _st_medium

__all__ = [
    "FACILITY_STATES",
    "FACTORS",
    "GROUPS",
    "INFO_CATEGORIES",
    "INFO_CODES",
    "INFO_DEVICE_CLASSES",
    "INFO_FACTORS",
    "INFO_VALUES",
    "LEGACY_2005_CODES",
    "LEGACY_TO_2017",
    "PROCESS_CODE_CLASHES",
    "PROCESS_TYPES_GAS",
    "PROCESS_TYPES_WATER",
    "UNIT_SYMBOLS",
    "Factor",
    "LegacyCode",
    "factor",
    "factor_key",
    "legacy_to_2017",
    "resolve_factor",
]

GROUPS: Final[frozenset[str]] = frozenset(
    {"water", "air", "noise", "meteorological", "process_water", "process_gas", "info"}
)


@dataclass(frozen=True, slots=True)
class Factor:
    """One monitoring factor.

    ``code`` is the 2017 code (process and some info codes are templates ending in ``x``);
    ``unit`` the default concentration unit, ``cou_unit`` the unit of ``-Cou`` where the
    table gives one (else ""); ``legacy`` the 2005 / "原编码" codes that map to this factor;
    ``data_type`` the default data type as printed (e.g. "N5.2", "" when none is given).
    """

    code: str
    name_zh: str
    name_en: str
    unit: str
    cou_unit: str
    group: str
    legacy: tuple[str, ...]
    data_type: str
    unit_zh: str = ""
    cou_unit_zh: str = ""


@dataclass(frozen=True, slots=True)
class LegacyCode:
    """One row of HJ/T 212-2005 App. B ("常用部分污染物相关参数编码表").

    ``medium`` is "water" (污水), "air" (废气) or "noise" (噪声); ``unit`` and ``data_type``
    are the 2005 ones; ``code_2017`` the 2017 factor it maps to ("" when there is none).
    """

    code: str
    name_zh: str
    medium: str
    unit: str
    data_type: str
    code_2017: str


# The standard's unit wording → symbol.  "无量纲" (dimensionless) and "--" map to "".
UNIT_SYMBOLS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "": "",
        "--": "",
        "无量纲": "",
        "升/秒": "L/s",
        "立方米": "m³",
        "[色]度": "degree",
        "毫克/升": "mg/L",
        "微克/升": "µg/L",
        "纳克/升": "ng/L",
        "千克": "kg",
        "克": "g",
        "毫克": "mg",
        "摄氏度": "°C",
        "微西[门子]/厘米": "µS/cm",
        "个/升": "count/L",
        "贝可[勒尔]/升": "Bq/L",
        "立方米/秒": "m³/s",
        "立方米/小时": "m³/h",
        "%": "%",
        "千帕": "kPa",
        "帕": "Pa",
        "米/秒": "m/s",
        "[角]度": "°",
        "平方米": "m²",
        "毫克/立方米": "mg/m³",
        "纳克/立方米": "ng/m³",
        "千克/立方米": "kg/m³",
        "吨/平方千米•月": "t/(km²·month)",
        "安[培]": "A",
        "米": "m",
        "毫伏[特]": "mV",
        "伏[特]": "V",
        "转/分钟": "r/min",
        "分贝": "dB",
        "分钟": "min",
        "秒": "s",
        "千瓦[特][小]时": "kWh",
        "年月日时分秒": "",  # i13006: a timestamp, see its data type
    }
)

_WATER: Final = "water"
_AIR: Final = "air"
_MET: Final = "meteorological"
_NOISE: Final = "noise"
_PW: Final = "process_water"
_PG: Final = "process_gas"
_INFO: Final = "info"

# (code, name_zh, name_en, unit_zh, cou_unit_zh, data_type, 原编码, group)
_Row = tuple[str, str, str, str, str, str, str, str]

# HJ 212-2017 table B.1 (water).
_B1: Final[tuple[_Row, ...]] = (
    ("w00000", "污水", "wastewater (flow)", "升/秒", "立方米", "N5.2", "B01", _WATER),
    ("w01001", "pH 值", "pH", "无量纲", "", "N2.2", "001", _WATER),
    ("w01002", "色度", "colour", "[色]度", "", "N3.2", "002", _WATER),
    ("w01006", "溶解性总固体", "total dissolved solids", "毫克/升", "千克", "N4", "", _WATER),
    ("w01009", "溶解氧", "dissolved oxygen", "毫克/升", "", "N3.1", "", _WATER),
    ("w01010", "水温", "water temperature", "摄氏度", "", "N3.1", "", _WATER),
    ("w01012", "悬浮物", "suspended solids", "毫克/升", "千克", "N4", "003", _WATER),
    ("w01014", "电导率", "electrical conductivity", "微西[门子]/厘米", "", "N3.1", "", _WATER),
    (
        "w01017",
        "五日生化需氧量",
        "five-day biochemical oxygen demand (BOD5)",
        "毫克/升",
        "千克",
        "N5.1",
        "010",
        _WATER,
    ),
    (
        "w01018",
        "化学需氧量",
        "chemical oxygen demand (COD)",
        "毫克/升",
        "千克",
        "N5.1",
        "011",
        _WATER,
    ),
    ("w01019", "高锰酸盐指数", "permanganate index", "毫克/升", "千克", "N3.1", "", _WATER),
    ("w01020", "总有机碳", "total organic carbon (TOC)", "毫克/升", "千克", "N3.1", "015", _WATER),
    ("w02003", "粪大肠菌群", "faecal coliforms", "个/升", "", "N9", "550", _WATER),
    ("w02006", "细菌总数", "total bacterial count", "个/升", "", "N9", "", _WATER),
    (
        "w03001",
        "总 α 放射性",
        "gross alpha radioactivity",
        "贝可[勒尔]/升",
        "",
        "N3.1",
        "570",
        _WATER,
    ),
    (
        "w03002",
        "总 β 放射性",
        "gross beta radioactivity",
        "贝可[勒尔]/升",
        "",
        "N3.1",
        "571",
        _WATER,
    ),
    ("w19001", "表面活性剂", "surfactants", "毫克/升", "千克", "N3.2", "", _WATER),
    ("w19002", "阴离子表面活性剂", "anionic surfactants", "毫克/升", "千克", "N3.2", "520", _WATER),
    ("w20012", "钡", "barium", "毫克/升", "千克", "N3.3", "039", _WATER),
    ("w20023", "硼", "boron", "毫克/升", "千克", "N3.3", "037", _WATER),
    ("w20038", "钴", "cobalt", "毫克/升", "千克", "N3.4", "040", _WATER),
    ("w20061", "钼", "molybdenum", "毫克/升", "千克", "N3.4", "038", _WATER),
    ("w20089", "铊", "thallium", "纳克/升", "毫克", "N4", "041", _WATER),
    ("w20092", "锡", "tin", "毫克/升", "千克", "N3.1", "036", _WATER),
    ("w20111", "总汞", "total mercury", "微克/升", "克", "N3.2", "020", _WATER),
    ("w20113", "烷基汞", "alkyl mercury", "纳克/升", "毫克", "N4", "021", _WATER),
    ("w20115", "总镉", "total cadmium", "微克/升", "克", "N3.1", "022", _WATER),
    ("w20116", "总铬", "total chromium", "毫克/升", "千克", "N3.3", "023", _WATER),
    ("w20117", "六价铬", "hexavalent chromium", "微克/升", "克", "N2.3", "024", _WATER),
    ("w20119", "总砷", "total arsenic", "微克/升", "克", "N2.3", "026", _WATER),
    ("w20120", "总铅", "total lead", "微克/升", "克", "N4", "027", _WATER),
    ("w20121", "总镍", "total nickel", "毫克/升", "千克", "N3.2", "028", _WATER),
    ("w20122", "总铜", "total copper", "毫克/升", "千克", "N3.2", "029", _WATER),
    ("w20123", "总锌", "total zinc", "毫克/升", "千克", "N3.3", "030", _WATER),
    ("w20124", "总锰", "total manganese", "毫克/升", "千克", "N3.3", "031", _WATER),
    ("w20125", "总铁", "total iron", "毫克/升", "千克", "N3.3", "032", _WATER),
    ("w20126", "总银", "total silver", "毫克/升", "千克", "N3.3", "033", _WATER),
    ("w20127", "总铍", "total beryllium", "微克/升", "克", "N3.3", "034", _WATER),
    ("w20128", "总硒", "total selenium", "微克/升", "克", "N4.2", "035", _WATER),
    ("w20138", "铜", "copper", "毫克/升", "千克", "N3.3", "", _WATER),
    ("w20139", "锌", "zinc", "毫克/升", "千克", "N3.3", "", _WATER),
    ("w20140", "硒", "selenium", "毫克/升", "千克", "N3.3", "", _WATER),
    ("w20141", "砷", "arsenic", "毫克/升", "千克", "N3.3", "", _WATER),
    ("w20142", "汞", "mercury", "微克/升", "克", "N3.3", "", _WATER),
    ("w20143", "镉", "cadmium", "微克/升", "克", "N3.3", "", _WATER),
    ("w20144", "铅", "lead", "毫克/升", "千克", "N3.3", "", _WATER),
    ("w21001", "总氮", "total nitrogen", "毫克/升", "千克", "N4.2", "065", _WATER),
    ("w21003", "氨氮", "ammonia nitrogen (NH3-N)", "毫克/升", "千克", "N4.2", "060", _WATER),
    ("w21004", "凯氏氮", "Kjeldahl nitrogen", "毫克/升", "千克", "N3.1", "062", _WATER),
    ("w21006", "亚硝酸盐", "nitrite", "毫克/升", "千克", "N2.3", "063", _WATER),
    ("w21007", "硝酸盐", "nitrate", "毫克/升", "千克", "N2.3", "064", _WATER),
    ("w21011", "总磷", "total phosphorus", "毫克/升", "千克", "N3.2", "101", _WATER),
    ("w21016", "氰化物", "cyanide", "毫克/升", "千克", "N3.3", "070", _WATER),
    ("w21017", "氟化物", "fluoride", "毫克/升", "千克", "N4.2", "072", _WATER),
    ("w21019", "硫化物", "sulfide", "毫克/升", "千克", "N3.3", "071", _WATER),
    ("w21022", "氯化物", "chloride", "毫克/升", "千克", "N3.1", "090", _WATER),
    ("w21038", "硫酸盐", "sulfate", "毫克/升", "千克", "N6", "", _WATER),
    ("w22001", "石油类", "petroleum oils", "毫克/升", "千克", "N3.2", "080", _WATER),
    ("w23002", "挥发酚", "volatile phenols", "毫克/升", "千克", "N3.4", "110", _WATER),
    ("w25043", "苯并[α]芘", "benzo[a]pyrene", "微克/升", "克", "N3.1", "540", _WATER),
    ("w33001", "六六六", "hexachlorocyclohexane (HCH)", "纳克/升", "毫克", "N4", "350", _WATER),
    ("w33007", "滴滴涕", "DDT", "纳克/升", "毫克", "N4", "351", _WATER),
    ("w99001", "有机氮", "organic nitrogen", "毫克/升", "千克", "N3.1", "061", _WATER),
)

# HJ 212-2017 table B.2 (gas); a01001-a01008 are the meteorological factors.
_B2: Final[tuple[_Row, ...]] = (
    ("a00000", "废气", "waste gas (flow)", "立方米/秒", "立方米", "N6.1", "B02", _AIR),
    ("a01001", "温度", "air temperature", "摄氏度", "", "N3.1", "", _MET),
    ("a01002", "湿度", "relative humidity", "%", "", "N3.1", "", _MET),
    ("a01006", "气压", "atmospheric pressure", "千帕", "", "N5.3", "", _MET),
    ("a01007", "风速", "wind speed", "米/秒", "", "N4.1", "", _MET),
    ("a01008", "风向", "wind direction", "[角]度", "", "N4", "", _MET),
    ("a01010", "林格曼黑度", "Ringelmann blackness", "无量纲", "", "N1", "37", _AIR),
    ("a01011", "烟气流速", "flue gas velocity", "米/秒", "", "N5.2", "S02", _AIR),
    ("a01012", "烟气温度", "flue gas temperature", "摄氏度", "", "N3.1", "S03", _AIR),
    ("a01013", "烟气压力", "flue gas pressure", "千帕", "", "N5.3", "S08", _AIR),
    ("a01014", "烟气湿度", "flue gas humidity", "%", "", "N3.1", "S05", _AIR),
    ("a01015", "制冷温度", "cooler temperature", "摄氏度", "", "N3.1", "S06", _AIR),
    ("a01016", "烟道截面积", "flue cross-sectional area", "平方米", "", "N4.2", "S07", _AIR),
    ("a01017", "烟气动压", "flue gas dynamic pressure", "千帕", "", "N5.3", "S04", _AIR),
    (
        "a01901",
        "垃圾焚烧炉膛内焚烧平均温度",
        "waste incinerator furnace mean combustion temperature",
        "摄氏度",
        "",
        "N4.1",
        "",
        _AIR,
    ),
    (
        "a01902",
        "垃圾焚烧炉膛内DCS 温度",
        "waste incinerator furnace DCS temperature",
        "摄氏度",
        "",
        "N4.1",
        "",
        _AIR,
    ),
    ("a05001", "二氧化碳", "carbon dioxide", "毫克/立方米", "千克", "N3.3", "30", _AIR),
    ("a05002", "甲烷", "methane", "纳克/立方米", "克", "N4.1", "", _AIR),
    ("a05008", "三氯一氟甲烷", "trichlorofluoromethane", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a05009", "二氯二氟甲烷", "dichlorodifluoromethane", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a05013", "三氯三氟乙烷", "trichlorotrifluoroethane", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a19001", "氧气含量", "oxygen content", "%", "", "N3.1", "S01", _AIR),
    ("a20007", "砷", "arsenic", "纳克/立方米", "克", "N1.6", "", _AIR),
    (
        "a20016",
        "铍及其化合物",
        "beryllium and its compounds",
        "毫克/立方米",
        "千克",
        "N4.4",
        "36",
        _AIR,
    ),
    (
        "a20025",
        "镉及其化合物",
        "cadmium and its compounds",
        "毫克/立方米",
        "千克",
        "N3.4",
        "33",
        _AIR,
    ),
    ("a20026", "镉", "cadmium", "纳克/立方米", "克", "N3.3", "", _AIR),
    ("a20043", "铅及其化合物", "lead and its compounds", "毫克/立方米", "千克", "N2.4", "32", _AIR),
    ("a20044", "铅", "lead", "纳克/立方米", "克", "N3.3", "", _AIR),
    (
        "a20057",
        "汞及其化合物",
        "mercury and its compounds",
        "毫克/立方米",
        "千克",
        "N4.4",
        "31",
        _AIR,
    ),
    ("a20058", "汞", "mercury", "纳克/立方米", "克", "N3.2", "", _AIR),
    (
        "a20063",
        "镍及其化合物",
        "nickel and its compounds",
        "毫克/立方米",
        "千克",
        "N3.3",
        "35",
        _AIR,
    ),
    ("a20091", "锡及其化合物", "tin and its compounds", "毫克/立方米", "千克", "N4.3", "34", _AIR),
    ("a21001", "氨（氨气）", "ammonia", "纳克/立方米", "克", "N4.3", "10", _AIR),
    ("a21002", "氮氧化物", "nitrogen oxides (NOx)", "毫克/立方米", "千克", "N5.1", "03", _AIR),
    ("a21003", "一氧化氮", "nitric oxide (NO)", "毫克/立方米", "千克", "N4.1", "", _AIR),
    ("a21004", "二氧化氮", "nitrogen dioxide (NO2)", "毫克/立方米", "千克", "N4.1", "", _AIR),
    ("a21005", "一氧化碳", "carbon monoxide (CO)", "毫克/立方米", "千克", "N3.3", "04", _AIR),
    ("a21017", "氰化物", "cyanide", "毫克/立方米", "千克", "N3.3", "07", _AIR),
    ("a21018", "氟化物", "fluoride", "毫克/立方米", "千克", "N2.3", "06", _AIR),
    ("a21022", "氯气", "chlorine", "毫克/立方米", "千克", "N4.3", "11", _AIR),
    ("a21024", "氯化氢", "hydrogen chloride", "毫克/立方米", "千克", "N4.3", "08", _AIR),
    ("a21026", "二氧化硫", "sulfur dioxide (SO2)", "毫克/立方米", "千克", "N5.2", "02", _AIR),
    ("a21028", "硫化氢", "hydrogen sulfide", "毫克/立方米", "千克", "N3.2", "05", _AIR),
    ("a23001", "酚类", "phenols", "毫克/立方米", "千克", "N3.3", "27", _AIR),
    ("a24003", "二氯甲烷", "dichloromethane", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a24004", "三氯甲烷", "trichloromethane", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a24005", "四氯甲烷", "tetrachloromethane", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a24006", "二溴一氯甲烷", "dibromochloromethane", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a24007", "一溴二氯甲烷", "bromodichloromethane", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a24008", "溴甲烷", "bromomethane", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a24009", "三溴甲烷", "tribromomethane", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a24015", "氯乙烷", "chloroethane", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a24016", "1,1-二氯乙烷", "1,1-dichloroethane", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a24017", "1,2-二氯乙烷", "1,2-dichloroethane", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a24018", "1,1,1-三氯乙烷", "1,1,1-trichloroethane", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a24019", "1,1,2-三氯乙烷", "1,1,2-trichloroethane", "毫克/立方米", "千克", "N7.3", "", _AIR),
    (
        "a24020",
        "1,1,2,2-四氯乙烷",
        "1,1,2,2-tetrachloroethane",
        "毫克/立方米",
        "千克",
        "N7.3",
        "",
        _AIR,
    ),
    ("a24027", "1,2-二氯丙烷", "1,2-dichloropropane", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a24034", "1,2-二溴乙烷", "1,2-dibromoethane", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a24036", "环己烷", "cyclohexane", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a24042", "正己烷", "n-hexane", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a24043", "正庚烷", "n-heptane", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a24046", "氯乙烯", "vinyl chloride", "毫克/立方米", "千克", "N4.3", "29", _AIR),
    ("a24047", "1,1-二氯乙烯", "1,1-dichloroethylene", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a24049", "三氯乙烯", "trichloroethylene", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a24050", "四氯乙烯", "tetrachloroethylene", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a24053", "丙烯", "propylene", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a24054", "1,3-二氯丙烯", "1,3-dichloropropene", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a24072", "1,4-二恶烷", "1,4-dioxane", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a24078", "1,3-丁二烯", "1,3-butadiene", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a24087", "碳氢化合物", "hydrocarbons", "毫克/立方米", "千克", "N5.2", "25", _AIR),
    (
        "a24088",
        "非甲烷总烃",
        "non-methane hydrocarbons (NMHC)",
        "毫克/立方米",
        "千克",
        "N7.3",
        "",
        _AIR,
    ),
    ("a24099", "氯甲烷", "chloromethane", "毫克/立方米", "千克", "N7.3", "", _AIR),
    (
        "a24110",
        "反式-1,2-二氯乙烯",
        "trans-1,2-dichloroethylene",
        "毫克/立方米",
        "千克",
        "N7.3",
        "",
        _AIR,
    ),
    (
        "a24111",
        "顺式-1,2-二氯乙烯",
        "cis-1,2-dichloroethylene",
        "毫克/立方米",
        "千克",
        "N7.3",
        "",
        _AIR,
    ),
    (
        "a24112",
        "反式-1,3-二氯丙烯",
        "trans-1,3-dichloropropene",
        "毫克/立方米",
        "千克",
        "N7.3",
        "",
        _AIR,
    ),
    (
        "a24113",
        "六氯-1,3-丁二烯",
        "hexachloro-1,3-butadiene",
        "毫克/立方米",
        "千克",
        "N7.3",
        "",
        _AIR,
    ),
    ("a25002", "苯", "benzene", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a25003", "甲苯", "toluene", "毫克/立方米", "千克", "N4.2", "17", _AIR),
    ("a25004", "乙苯", "ethylbenzene", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a25005", "二甲苯", "xylene", "毫克/立方米", "千克", "N4.2", "18", _AIR),
    (
        "a25006",
        "1,2-二甲基苯",
        "1,2-dimethylbenzene (o-xylene)",
        "毫克/立方米",
        "千克",
        "N7.3",
        "",
        _AIR,
    ),
    (
        "a25007",
        "1,3-二甲基苯",
        "1,3-dimethylbenzene (m-xylene)",
        "毫克/立方米",
        "千克",
        "N7.3",
        "",
        _AIR,
    ),
    (
        "a25008",
        "1,4-二甲基苯",
        "1,4-dimethylbenzene (p-xylene)",
        "毫克/立方米",
        "千克",
        "N7.3",
        "",
        _AIR,
    ),
    ("a25010", "氯苯", "chlorobenzene", "毫克/立方米", "千克", "N4.3", "23", _AIR),
    ("a25011", "1,2-二氯苯", "1,2-dichlorobenzene", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a25012", "1,3-二氯苯", "1,3-dichlorobenzene", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a25013", "1,4-二氯苯", "1,4-dichlorobenzene", "毫克/立方米", "千克", "N7.3", "", _AIR),
    (
        "a25014",
        "1-乙基-4-甲基苯",
        "1-ethyl-4-methylbenzene",
        "毫克/立方米",
        "千克",
        "N7.3",
        "",
        _AIR,
    ),
    ("a25015", "1,2,4-三氯苯", "1,2,4-trichlorobenzene", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a25019", "1,2,4-三甲基苯", "1,2,4-trimethylbenzene", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a25020", "1,2,3-三甲基苯", "1,2,3-trimethylbenzene", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a25021", "1,3,5-三甲基苯", "1,3,5-trimethylbenzene", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a25023", "硝基苯", "nitrobenzene", "毫克/立方米", "千克", "N3.4", "22", _AIR),
    ("a25038", "乙烯基苯", "styrene (vinylbenzene)", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a25044", "苯并[a]芘", "benzo[a]pyrene", "毫克/立方米", "千克", "N4.3", "20", _AIR),
    ("a25072", "四氢呋喃", "tetrahydrofuran", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a26001", "苯胺类", "anilines", "毫克/立方米", "千克", "N4.3", "21", _AIR),
    ("a29017", "乙酸乙酯", "ethyl acetate", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a29026", "乙酸乙烯酯", "vinyl acetate", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a30001", "甲醇", "methanol", "毫克/立方米", "千克", "N4.3", "28", _AIR),
    ("a30008", "异丙醇", "isopropanol", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a30022", "硫醇", "mercaptans", "毫克/立方米", "千克", "N4.3", "13", _AIR),
    ("a31001", "甲醛", "formaldehyde", "毫克/立方米", "千克", "N3.3", "19", _AIR),
    ("a31002", "乙醛", "acetaldehyde", "毫克/立方米", "千克", "N3.4", "26", _AIR),
    ("a31024", "丙酮", "acetone", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a31025", "2-丁酮", "2-butanone", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a31030", "甲基异丁基甲酮", "methyl isobutyl ketone", "毫克/立方米", "千克", "N7.3", "", _AIR),
    (
        "a34001",
        "总悬浮颗粒物 TSP",
        "total suspended particulates (TSP)",
        "纳克/立方米",
        "克",
        "N4.3",
        "",
        _AIR,
    ),
    (
        "a34002",
        "可吸入颗粒物 PM10",
        "inhalable particulate matter (PM10)",
        "纳克/立方米",
        "克",
        "N3.3",
        "",
        _AIR,
    ),
    (
        "a34004",
        "细微颗粒物 PM2.5",
        "fine particulate matter (PM2.5)",
        "纳克/立方米",
        "克",
        "N3.3",
        "",
        _AIR,
    ),
    (
        "a34005",
        "亚微米颗粒物 PM1.0",
        "submicron particulate matter (PM1.0)",
        "纳克/立方米",
        "克",
        "N3.3",
        "",
        _AIR,
    ),
    ("a34011", "降尘", "dustfall", "吨/平方千米•月", "", "", "", _AIR),
    ("a34013", "烟尘", "flue dust (particulate matter)", "毫克/立方米", "千克", "N4", "01", _AIR),
    ("a34017", "炭黑尘", "carbon black dust", "毫克/立方米", "千克", "N4", "", _AIR),
    ("a34038", "沥青烟", "asphalt fume", "毫克/立方米", "千克", "N4.3", "09", _AIR),
    ("a34039", "硫酸雾", "sulfuric acid mist", "毫克/立方米", "千克", "N4.3", "14", _AIR),
    ("a34040", "铬酸雾", "chromic acid mist", "毫克/立方米", "千克", "N2.3", "15", _AIR),
    ("a99010", "丙烯腈", "acrylonitrile", "毫克/立方米", "千克", "N7.3", "", _AIR),
    ("a99049", "光气", "phosgene", "毫克/立方米", "千克", "N3.3", "24", _AIR),
    ("a99051", "二硫化碳", "carbon disulfide", "毫克/立方米", "千克", "N4.3", "12", _AIR),
)

# HJ 212-2017 table B.3 (acoustic environment): (code, name_zh, name_en); all 分贝, N3.1.
_B3: Final[tuple[tuple[str, str, str], ...]] = (
    ("LA", "A 权声级", "A-weighted sound level"),
    ("L5", "累计百分声级 L5", "percentile sound level L5"),
    ("L10", "累计百分声级 L10", "percentile sound level L10"),
    ("L50", "累计百分声级 L50", "percentile sound level L50"),
    ("L90", "累计百分声级 L90", "percentile sound level L90"),
    ("L95", "累计百分声级 L95", "percentile sound level L95"),
    ("Leq", "等效声级", "equivalent continuous sound level"),
    ("Ldn", "昼夜等效声级", "day-night equivalent sound level"),
    ("Ld", "昼间等效声级", "daytime equivalent sound level"),
    ("Ln", "夜间等效声级", "night-time equivalent sound level"),
    ("LMx", "最大的瞬时声级", "maximum instantaneous sound level"),
    ("LMn", "最小的瞬时声级", "minimum instantaneous sound level"),
)

# (code, name_zh, name_en, unit_zh, data_type, group) — tables B.5 (e) and B.7 (g).
_ProcRow = tuple[str, str, str, str, str, str]
_PROCESS: Final[tuple[_ProcRow, ...]] = (
    ("e101xx", "进水口流量", "inlet flow", "升/秒", "N6.2", _PW),
    ("e102xx", "进水口 COD", "inlet COD", "毫克/升", "N5.1", _PW),
    ("e103xx", "进水口氨氮", "inlet ammonia nitrogen", "毫克/升", "N3.2", _PW),
    ("e104xx", "进水口总磷", "inlet total phosphorus", "毫克/升", "N3.2", _PW),
    ("e105xx", "进水口总氮", "inlet total nitrogen", "毫克/升", "N5.1", _PW),
    ("e106xx", "进水口 pH", "inlet pH", "无量纲", "N2.2", _PW),
    ("e201xx", "出水口流量", "outlet flow", "升/秒", "N6.2", _PW),
    ("e202xx", "出水口 COD", "outlet COD", "毫克/升", "N5.1", _PW),
    ("e203xx", "出水口氨氮", "outlet ammonia nitrogen", "毫克/升", "N3.2", _PW),
    ("e204xx", "出水口总磷", "outlet total phosphorus", "毫克/升", "N3.2", _PW),
    ("e205xx", "出水口 PH", "outlet pH", "无量纲", "N2.2", _PW),
    ("e301xx", "污水提升泵", "sewage lift pump (current)", "安[培]", "N4.2", _PW),
    ("e302xx", "鼓风机", "blower (current)", "安[培]", "N4.2", _PW),
    ("e303xx", "鼓风量", "blower air volume", "毫克/升", "N7", _PW),
    ("e304xx", "生化池污泥浓度", "bioreactor sludge concentration", "毫克/升", "N5.1", _PW),
    ("e305xx", "生化池溶解氧浓度", "bioreactor dissolved oxygen", "毫克/升", "N5.1", _PW),
    ("e306xx", "污泥剩余泵", "excess sludge pump (current)", "安[培]", "N4.2", _PW),
    ("e307xx", "污泥回流泵", "sludge return pump (current)", "安[培]", "N4.2", _PW),
    ("e308xx", "污泥回流量", "returned sludge quantity", "千克", "N7", _PW),
    ("e309xx", "污泥剩余量", "excess sludge quantity", "千克", "N7", _PW),
    ("e310xx", "污泥压滤机", "sludge filter press (current)", "安[培]", "N4.2", _PW),
    ("e311xx", "阀门状态", "valve status", "无量纲", "N1", _PW),
    ("e312xx", "储泥池液位", "sludge storage tank level", "米", "N2.3", _PW),
    ("e313xx", "加药量", "chemical dosage", "毫克/升", "N5.1", _PW),
    (
        "e314xx",
        "生化池氧化还原电位",
        "bioreactor oxidation-reduction potential",
        "毫伏[特]",
        "N7",
        _PW,
    ),
    ("e401xx", "污水提升泵", "sewage lift pump (current)", "安[培]", "N4.2", _PW),
    ("e402xx", "曝气设备", "aeration equipment (current)", "安[培]", "N4.2", _PW),
    ("e403xx", "生化池污泥浓度", "bioreactor sludge concentration", "毫克/升", "N5.1", _PW),
    ("e404xx", "厌氧池溶解氧浓度", "anaerobic tank dissolved oxygen", "毫克/升", "N5.1", _PW),
    ("e405xx", "缺氧池溶解氧浓度", "anoxic tank dissolved oxygen", "毫克/升", "N5.1", _PW),
    ("e406xx", "好氧池溶解氧浓度", "aerobic tank dissolved oxygen", "毫克/升", "N5.1", _PW),
    ("e407xx", "污泥剩余泵", "excess sludge pump (current)", "安[培]", "N4.2", _PW),
    ("e408xx", "污泥回流泵", "sludge return pump (current)", "安[培]", "N4.2", _PW),
    ("e409xx", "污泥回流量", "returned sludge quantity", "千克", "N4.2", _PW),
    ("e410xx", "污泥剩余量", "excess sludge quantity", "千克", "N4.2", _PW),
    ("e411xx", "污泥压滤机", "sludge filter press (current)", "安[培]", "N4.2", _PW),
    ("e412xx", "搅拌器转态", "mixer status", "无量纲", "N1", _PW),
    ("e413xx", "阀门状态", "valve status", "无量纲", "N1", _PW),
    (
        "e414xx",
        "缺氧池氧化还原电位",
        "anoxic tank oxidation-reduction potential",
        "毫伏[特]",
        "N7",
        _PW,
    ),
    (
        "e415xx",
        "好氧池氧化还原电位",
        "aerobic tank oxidation-reduction potential",
        "毫伏[特]",
        "N7",
        _PW,
    ),
    ("e416xx", "提升泵池液位", "lift pump sump level", "米", "N2.3", _PW),
    ("e417xx", "储泥池液位", "sludge storage tank level", "米", "N2.3", _PW),
    ("e418xx", "加药量", "chemical dosage", "毫克/升", "N5.1", _PW),
    ("e501xx", "污水提升泵", "sewage lift pump (current)", "安[培]", "N4.2", _PW),
    ("e502xx", "曝气设备", "aeration equipment (current)", "安[培]", "N4.2", _PW),
    ("e503xx", "供气量状态", "air supply status", "无量纲", "N1", _PW),
    ("e504xx", "生化池污泥浓度", "bioreactor sludge concentration", "毫克/升", "N5.1", _PW),
    ("e505xx", "厌氧池溶解氧浓度", "anaerobic tank dissolved oxygen", "毫克/升", "N5.1", _PW),
    ("e506xx", "缺氧池溶解氧浓度", "anoxic tank dissolved oxygen", "毫克/升", "N5.1", _PW),
    ("e507xx", "好氧池溶解氧浓度", "aerobic tank dissolved oxygen", "毫克/升", "N5.1", _PW),
    ("e508xx", "混合液回流泵", "mixed liquor return pump (current)", "安[培]", "N4.2", _PW),
    ("e509xx", "剩余污泥泵", "excess sludge pump (current)", "安[培]", "N4.2", _PW),
    ("e510xx", "剩余污泥量", "excess sludge quantity", "千克", "N7", _PW),
    ("e511xx", "搅拌器状态", "mixer status", "无量纲", "N1", _PW),
    ("e512xx", "阀门状态", "valve status", "无量纲", "N1", _PW),
    (
        "e513xx",
        "缺氧池氧化还原电位",
        "anoxic tank oxidation-reduction potential",
        "毫伏[特]",
        "N7",
        _PW,
    ),
    (
        "e514xx",
        "好氧池氧化还原电位",
        "aerobic tank oxidation-reduction potential",
        "毫伏[特]",
        "N7",
        _PW,
    ),
    ("e515xx", "提升泵池液位", "lift pump sump level", "米", "N2.3", _PW),
    ("e516xx", "储泥池液位", "sludge storage tank level", "米", "N2.3", _PW),
    ("e517xx", "加药量", "chemical dosage", "毫克/升", "N5.1", _PW),
    ("e601xx", "污水提升泵", "sewage lift pump (current)", "安[培]", "N4.2", _PW),
    ("e602xx", "曝气设备", "aeration equipment (current)", "安[培]", "N4.2", _PW),
    ("e603xx", "SBR 池污泥浓度", "SBR tank sludge concentration", "毫克/升", "N5.1", _PW),
    ("e604xx", "SBR 池溶解氧浓度", "SBR tank dissolved oxygen", "毫克/升", "N5.1", _PW),
    ("e605xx", "污泥剩余泵", "excess sludge pump (current)", "安[培]", "N4.2", _PW),
    ("e606xx", "污泥回流泵", "sludge return pump (current)", "安[培]", "N4.2", _PW),
    ("e607xx", "污泥回流量", "returned sludge quantity", "千克", "N7", _PW),
    ("e608xx", "污泥剩余量", "excess sludge quantity", "千克", "N7", _PW),
    ("e609xx", "污泥压滤机", "sludge filter press (current)", "安[培]", "N4.2", _PW),
    ("e610xx", "搅拌器", "mixer (current)", "安[培]", "N4.2", _PW),
    (
        "e614xx",
        "SBR 池曝气搅拌时氧化还原电位",
        "SBR tank oxidation-reduction potential during aeration/mixing",
        "毫伏[特]",
        "N7",
        _PW,
    ),
    ("e615xx", "阀门状态", "valve status", "无量纲", "N1", _PW),
    ("e616xx", "提升泵池液位", "lift pump sump level", "米", "N2.3", _PW),
    ("e617xx", "储泥池液位", "sludge storage tank level", "米", "N2.3", _PW),
    ("e701xx", "污水提升泵", "sewage lift pump (current)", "安[培]", "N4.2", _PW),
    ("e702xx", "曝气设备", "aeration equipment (current)", "安[培]", "N4.2", _PW),
    (
        "e703xx",
        "接触氧化池污泥浓度",
        "contact oxidation tank sludge concentration",
        "毫克/升",
        "N5.1",
        _PW,
    ),
    (
        "e704xx",
        "接触氧化池溶解氧浓度",
        "contact oxidation tank dissolved oxygen",
        "毫克/升",
        "N5.1",
        _PW,
    ),
    ("e705xx", "剩余污泥泵", "excess sludge pump (current)", "安[培]", "N4.2", _PW),
    ("e706xx", "剩余污泥量", "excess sludge quantity", "千克", "N7", _PW),
    ("e707xx", "污泥压滤机", "sludge filter press (current)", "安[培]", "N4.2", _PW),
    ("e708xx", "阀门状态", "valve status", "无量纲", "N1", _PW),
    ("e709xx", "提升泵池液位", "lift pump sump level", "米", "N2.3", _PW),
    ("e710xx", "储泥池液位", "sludge storage tank level", "米", "N2.3", _PW),
    ("e801xx", "污水提升泵", "sewage lift pump (current)", "安[培]", "N4.2", _PW),
    ("e802xx", "曝气设备", "aeration equipment (current)", "安[培]", "N4.2", _PW),
    ("e803xx", "污泥浓度", "sludge concentration", "毫克/升", "N5.1", _PW),
    ("e804xx", "溶解氧浓度", "dissolved oxygen", "毫克/升", "N5.1", _PW),
    ("e805xx", "剩余污泥泵", "excess sludge pump (current)", "安[培]", "N4.2", _PW),
    ("g101xx", "增压风机状态", "booster fan status", "无量纲", "N1", _PG),
    ("g102xx", "增压风机电流", "booster fan current", "安[培]", "N4.2", _PG),
    ("g103xx", "浆液循环泵状态", "slurry circulation pump status", "无量纲", "N1", _PG),
    ("g104xx", "浆液循环泵电流", "slurry circulation pump current", "安[培]", "N4.2", _PG),
    ("g105xx", "密封剂状态", "seal (密封剂) status", "无量纲", "N1", _PG),
    ("g106xx", "密封剂电流", "seal (密封剂) current", "安[培]", "N4.2", _PG),
    ("g107xx", "GGH 运行状态", "GGH operating status", "无量纲", "N1", _PG),
    ("g108xx", "GGH 电机电流", "GGH motor current", "安[培]", "N4.2", _PG),
    ("g109xx", "浆液泵状态", "slurry pump status", "无量纲", "N1", _PG),
    ("g110xx", "浆液泵流量", "slurry pump flow", "立方米/小时", "N4.3", _PG),
    ("g111xx", "脱硫塔内浆液 pH", "absorber slurry pH", "无量纲", "N2.2", _PG),
    ("g112xx", "吸收塔除雾器状态", "absorber demister status", "无量纲", "N1", _PG),
    ("g113xx", "吸收塔除物器电流", "absorber demister current", "安[培]", "N4.2", _PG),
    ("g114xx", "吸收塔搅拌器状态", "absorber agitator status", "无量纲", "N1", _PG),
    ("g115xx", "吸收塔浆液密度", "absorber slurry density", "千克/立方米", "N3.3", _PG),
    ("g116xx", "旁路挡板门开度", "bypass damper opening", "[角]度", "N4", _PG),
    ("g117xx", "石膏排除泵状态", "gypsum discharge pump status", "无量纲", "N1", _PG),
    ("g118xx", "石膏排除泵电流", "gypsum discharge pump current", "安[培]", "N4.2", _PG),
    ("g119xx", "脱硫率", "desulfurization efficiency", "%", "N3.2", _PG),
    ("g201xx", "脱硫塔内喷水泵电流", "absorber water spray pump current", "安[培]", "N4.2", _PG),
    ("g202xx", "脱硫剂输送装置", "desulfurizer conveyor (current)", "安[培]", "N4.2", _PG),
    (
        "g203xx",
        "称重给煤机计量信号",
        "gravimetric coal feeder metering signal",
        "无量纲",
        "N1",
        _PG,
    ),
    ("g204xx", "炉膛床压", "furnace bed pressure", "帕", "N7", _PG),
    ("g205xx", "炉膛床温", "furnace bed temperature", "摄氏度", "N5.1", _PG),
    ("g206xx", "冷渣器转速", "slag cooler speed", "转/分钟", "N6", _PG),
    ("g207xx", "返料风机电流", "loop-seal (return) fan current", "安[培]", "N4.2", _PG),
    ("g208xx", "引风机电流", "induced-draft fan current", "安[培]", "N4.2", _PG),
    ("g209xx", "一次风机电流", "primary air fan current", "安[培]", "N4.2", _PG),
    ("g210xx", "二次风机电流", "secondary air fan current", "安[培]", "N4.2", _PG),
    ("g211xx", "石灰石给料机电流", "limestone feeder current", "安[培]", "N4.2", _PG),
    ("g212xx", "脱硫率", "desulfurization efficiency", "%", "N3.1", _PG),
    ("g301xx", "氨喷射系统电流", "ammonia injection system current", "安[培]", "N4.2", _PG),
    ("g302xx", "稀释风机状态", "dilution fan status", "无量纲", "N1", _PG),
    ("g303xx", "稀释风机电流", "dilution fan current", "安[培]", "N4.2", _PG),
    ("g304xx", "氨泵风机状态", "ammonia pump fan status", "无量纲", "N1", _PG),
    ("g305xx", "氨泵风机电流", "ammonia pump fan current", "安[培]", "N4.2", _PG),
    ("g306xx", "旁路挡板状态", "bypass damper status", "无量纲", "N1", _PG),
    ("g307xx", "旁路挡板开度", "bypass damper opening", "[角]度", "N4", _PG),
    ("g308xx", "旁路挡板左右压差", "bypass damper differential pressure", "千帕", "N5.3", _PG),
    ("g120xx", "入口氮氧化物 NOx", "inlet nitrogen oxides (NOx)", "毫克/立方米", "N3.3", _PG),
    ("g121xx", "入口含氧量 O2", "inlet oxygen content (O2)", "%", "N3.1", _PG),
    ("g122xx", "入口流量", "inlet flow", "立方米/小时", "N4.3", _PG),
    ("g123xx", "入口温度", "inlet temperature", "摄氏度", "N3.1", _PG),
    ("g124xx", "入口烟尘", "inlet flue dust", "毫克/立方米", "N3.3", _PG),
    ("g125xx", "入口压力", "inlet pressure", "千帕", "N5.3", _PG),
    ("g126xx", "入口湿度", "inlet humidity", "%", "N3.1", _PG),
    ("g127xx", "出口二氧化硫 SO2", "outlet sulfur dioxide (SO2)", "毫克/立方米", "N3.3", _PG),
    ("g128xx", "出口氮氧化物 NOx", "outlet nitrogen oxides (NOx)", "毫克/立方米", "N3.3", _PG),
    ("g129xx", "出口含氧量 O2", "outlet oxygen content (O2)", "%", "N3.1", _PG),
    ("g130xx", "出口流量", "outlet flow", "立方米/小时", "N4.3", _PG),
    ("g131xx", "出口温度", "outlet temperature", "摄氏度", "N3.1", _PG),
    ("g132xx", "出口烟尘", "outlet flue dust", "毫克/立方米", "N3.3", _PG),
    ("g133xx", "出口压力", "outlet pressure", "千帕", "N5.3", _PG),
    ("g134xx", "出口湿度", "outlet humidity", "%", "N3.1", _PG),
)

# Second definitions of codes B.5/B.7 print twice: (code, name_zh, name_en, unit_zh, type).
_PROCESS_DUPLICATES: Final[tuple[tuple[str, str, str, str, str], ...]] = (
    ("e701xx", "加药量", "chemical dosage", "毫克/升", "N5.1"),
    ("g119xx", "入口二氧化硫 SO2", "inlet sulfur dioxide (SO2)", "毫克/立方米", "N3.3"),
)

# HJ 212-2017 table B.10: (code, name_zh, name_en, unit_zh, data_type).
_B10: Final[tuple[tuple[str, str, str, str, str], ...]] = (
    # 在线监控（监测）仪器仪表 — instrument: log, status, parameters
    ("i11001", "运行日志", "instrument run log", "--", "C890"),
    ("i12001", "工作状态", "instrument working status", "无量纲", "N2"),
    ("i12002", "分析仪与数采仪通讯状态", "analyser/data-logger link status", "无量纲", "N1"),
    ("i12003", "COD 分析仪报警状态", "COD analyser alarm status", "无量纲", "N1"),
    ("i13001", "测量量程", "measuring range", "--", ""),
    ("i13002", "测量精度", "measuring precision", "--", ""),
    ("i13003", "测量间隔", "measuring interval", "分钟", "N4"),
    ("i13004", "消解温度", "digestion temperature", "摄氏度", "N3.1"),
    ("i13005", "消解时长", "digestion duration", "分钟", "N2"),
    ("i13006", "校准时间", "calibration time", "年月日时分秒", "YYYYMMDDHHMMSS"),
    ("i13007", "截距", "intercept", "--", ""),
    ("i13008", "斜率", "slope", "--", ""),
    ("i13009", "测量检出限", "detection limit", "--", ""),
    # 数采仪 — data logger
    ("i21001", "运行日志", "data-logger run log", "--", "C890"),
    ("i22001", "工作状态", "data-logger working status", "无量纲", "N1"),
    ("i22002", "用户状态", "user status", "无量纲", "N1"),
    ("i22003", "数采仪与上位机通讯状态", "data-logger/platform link status", "无量纲", "N1"),
    ("i22101", "数采仪通道通讯状态", "data-logger channel link status", "无量纲", "N1"),
    ("i23001", "本地大气压力", "local atmospheric pressure", "千帕", "N3.3"),
    # 辅助设备 — auxiliary equipment
    ("i31001", "门禁日志", "access-control log", "--", "C890"),
    ("i32001", "门禁状态", "access-control status", "无量纲", "N1"),
    ("i33001", "CEMS 伴热管温度", "CEMS heated sample line temperature", "摄氏度", "N4"),
    ("i33002", "CEMS 冷凝温度", "CEMS condenser temperature", "摄氏度", "N1.1"),
    ("i33101", "监测站房温度", "monitoring station room temperature", "摄氏度", "N4"),
    # unit printed as 摄氏度 in B.10 (a humidity would be %); kept as printed
    ("i33102", "监测站房湿度", "monitoring station room humidity", "摄氏度", "N4"),
    ("i33103", "监测站房电压", "monitoring station room voltage", "伏[特]", "N4"),
    ("i33104", "监测站房原水压力", "station raw-water pressure", "千帕", "N6"),
    ("i33105", "监测站房进样压力 1", "station sample inlet pressure 1", "千帕", "N6"),
    ("i33106", "监测站房进样压力 2", "station sample inlet pressure 2", "千帕", "N6"),
    ("i33107", "沉砂池清洗时间", "grit chamber cleaning time", "秒", "N4"),
    ("i33200", "污水处理站（厂）电流量", "treatment plant electric current", "安[培]", "N4.2"),
    (
        "i33201",
        "污水处理站（厂）累计耗电量",
        "treatment plant cumulative energy use",
        "千瓦[特][小]时",
        "N13",
    ),
    (
        "i33202",
        "污水处理站（厂）日耗电量",
        "treatment plant daily energy use",
        "千瓦[特][小]时",
        "N7",
    ),
    # x = measuring point 0-9
    ("i3331x", "炉膛内上部焚烧温度", "furnace upper combustion temperature", "摄氏度", "N4.1"),
    ("i3332x", "炉膛内中部焚烧温度", "furnace middle combustion temperature", "摄氏度", "N4.1"),
    ("i3333x", "炉膛内下部焚烧温度", "furnace lower combustion temperature", "摄氏度", "N4.1"),
    (
        "i3334x",
        "炉膛内二次空气喷入点温度",
        "furnace secondary-air injection point temperature",
        "摄氏度",
        "N4.1",
    ),
    ("i33400", "生产负荷", "production load", "%", "N3.1"),  # printed "I33400"
)

_NORMAL_ABNORMAL: Final[Mapping[int, tuple[str, str]]] = MappingProxyType(
    {0: ("正常", "normal"), 1: ("异常", "abnormal")}
)
_RUN_STOP_FAULT_MAINT: Final[Mapping[int, tuple[str, str]]] = MappingProxyType(
    {
        0: ("运行", "running"),
        1: ("停机", "stopped"),
        2: ("故障", "fault"),
        3: ("维护", "maintenance"),
    }
)

INFO_VALUES: Final[Mapping[str, Mapping[int, tuple[str, str]]]] = MappingProxyType(
    {
        "i12001": MappingProxyType(
            {
                0: ("运行", "running"),
                1: ("维护", "maintenance"),
                2: ("故障", "fault"),
                3: ("校准", "calibration"),
                5: ("反吹", "back-flush"),
                6: ("电源故障", "power failure"),
                7: ("测量", "measuring"),
                8: ("标定", "standardisation"),
                9: ("待机", "standby"),
                10: ("运维", "operation and maintenance"),
            }
        ),
        "i12002": _NORMAL_ABNORMAL,
        "i12003": MappingProxyType({0: ("正常", "normal"), 1: ("报警", "alarm")}),
        "i22001": _RUN_STOP_FAULT_MAINT,
        "i22002": MappingProxyType(
            {
                0: ("普通用户", "ordinary user"),
                1: ("管理员", "administrator"),
                2: ("维护人员", "maintainer"),
            }
        ),
        "i22003": _NORMAL_ABNORMAL,
        "i22101": MappingProxyType(
            {
                0: ("正常", "normal"),
                1: ("异常", "abnormal"),
                2: ("通道未接设备", "no device on channel"),
            }
        ),
        "i32001": _RUN_STOP_FAULT_MAINT,
    }
)
"""Enumerated values of the B.10 status codes (the value of ``ixxxxx-Info``)."""

# Table B.8 (second character of an i code) and B.9 (third character).
INFO_DEVICE_CLASSES: Final[Mapping[str, tuple[str, str]]] = MappingProxyType(
    {
        "1": ("在线监控（监测）仪器仪表", "online monitoring instrument"),
        "2": ("数据采集传输仪", "data logger"),
        "3": ("辅助设备", "auxiliary equipment"),
    }
)
INFO_CATEGORIES: Final[Mapping[str, tuple[str, str]]] = MappingProxyType(
    {"1": ("日志", "log"), "2": ("状态", "status"), "3": ("参数", "parameter")}
)

# Table B.4 (second character of an e code) and B.6 (second character of a g code).
PROCESS_TYPES_WATER: Final[Mapping[str, tuple[str, str]]] = MappingProxyType(
    {
        "1": ("污水处理厂进口污水流量及污染物", "treatment plant inlet flow and pollutants"),
        "2": ("污水处理厂出口污水流量及污染物", "treatment plant outlet flow and pollutants"),
        "3": ("传统活性污泥法", "conventional activated sludge"),
        "4": ("氧化沟法", "oxidation ditch"),
        "5": ("AO 法—A2O 法", "AO / A2O (anaerobic-anoxic-oxic) process"),
        "6": ("SBR 法", "sequencing batch reactor (SBR)"),
        "7": ("生物接触氧化法", "biological contact oxidation"),
        "8": ("生物滤池法", "biofilter"),
        "9": ("污水处理厂设计参数", "treatment plant design parameters"),
    }
)
PROCESS_TYPES_GAS: Final[Mapping[str, tuple[str, str]]] = MappingProxyType(
    {
        "1": ("湿法脱硫（石灰石/石灰-石膏法）", "wet FGD (limestone/lime-gypsum)"),
        "2": ("半干法脱硫（循环硫化床法）", "semi-dry FGD (circulating fluidised bed)"),
        "3": ("SCR", "selective catalytic reduction (SCR)"),
        "4": ("SNCR", "selective non-catalytic reduction (SNCR)"),
        "5": ("电除尘", "electrostatic precipitator"),
        "6": ("布袋除尘", "bag filter"),
    }
)

# Table 4, SBxxx-RS: running state of a pollution-treatment facility (2005: 0 off, 1 on).
FACILITY_STATES: Final[Mapping[int, tuple[str, str]]] = MappingProxyType(
    {
        0: ("关闭", "off"),
        1: ("运行", "running"),
        2: ("校准", "calibrating"),
        3: ("维护", "maintenance"),
        4: ("报警", "alarm"),
        5: ("反吹", "back-flush"),
    }
)

_WATER_M: Final = "water"
_AIR_M: Final = "air"
_NOISE_M: Final = "noise"


_L = LegacyCode

# HJ/T 212-2005 App. B, in the order printed.  Units normalised to symbols; B01 and B02 have
# no unit in the table, theirs come from its "其它计量单位说明" (污水流量 升/秒, 废气 立方米/秒).
_LEGACY_2005_LIST: Final[tuple[LegacyCode, ...]] = (
    _L("B03", "噪声", _NOISE_M, "dB", "N3.1", "LA"),
    _L("L10", "累计百分声级 L10", _NOISE_M, "dB", "N3.1", "L10"),
    _L("L5", "累计百分声级 L5", _NOISE_M, "dB", "N3.1", "L5"),
    _L("L50", "累计百分声级 L50", _NOISE_M, "dB", "N3.1", "L50"),
    _L("L90", "累计百分声计 L90", _NOISE_M, "dB", "N3.1", "L90"),
    _L("L95", "累计百分声级 L95", _NOISE_M, "dB", "N3.1", "L95"),
    _L("Ld", "夜间等效声级 Ld", _NOISE_M, "dB", "N3.1", "Ld"),
    _L("Ldn", "昼夜等效声级 Ldn", _NOISE_M, "dB", "N3.1", "Ldn"),
    _L("Leq", "30 秒等效声级 Leq", _NOISE_M, "dB", "N3.1", "Leq"),
    _L("LMn", "最小的瞬时声级", _NOISE_M, "dB", "N3.1", "LMn"),
    _L("LMx", "最大的瞬时声级", _NOISE_M, "dB", "N3.1", "LMx"),
    _L("Ln", "昼间等效声级 Ln", _NOISE_M, "dB", "N3.1", "Ln"),
    _L("S01", "O2 含量", _AIR_M, "%", "N3.1", "a19001"),
    _L("S02", "烟气流速", _AIR_M, "m³/h", "N5.2", "a01011"),
    _L("S03", "烟气温度", _AIR_M, "°C", "N3.1", "a01012"),
    _L("S04", "烟气动压", _AIR_M, "MPa", "N4.2", "a01017"),
    _L("S05", "烟气湿度", _AIR_M, "%", "N3.1", "a01014"),
    _L("S06", "制冷温度", _AIR_M, "°C", "N3.1", "a01015"),
    _L("S07", "烟道截面积", _AIR_M, "m²", "N4.2", "a01016"),
    _L("S08", "烟气压力", _AIR_M, "MPa", "N4.2", "a01013"),
    _L("B02", "废气", _AIR_M, "m³/s", "", "a00000"),
    _L("01", "烟尘", _AIR_M, "mg/m³", "N5.2", "a34013"),
    _L("02", "二氧化硫", _AIR_M, "mg/m³", "N5.2", "a21026"),
    _L("03", "氮氧化物", _AIR_M, "mg/m³", "N5.3", "a21002"),
    _L("04", "一氧化碳", _AIR_M, "mg/m³", "N2.3", "a21005"),
    _L("05", "硫化氢", _AIR_M, "mg/m³", "N3.2", "a21028"),
    _L("06", "氟化物", _AIR_M, "mg/m³", "N2.3", "a21018"),
    _L("07", "氰化物(含氰化氢)", _AIR_M, "mg/m³", "N3.3", "a21017"),
    _L("08", "氯化氢", _AIR_M, "mg/m³", "N4.3", "a21024"),
    _L("09", "沥青烟", _AIR_M, "mg/m³", "N4.3", "a34038"),
    _L("10", "氨", _AIR_M, "mg/m³", "N4.3", "a21001"),
    _L("11", "氯气", _AIR_M, "mg/m³", "N4.3", "a21022"),
    _L("12", "二硫化碳", _AIR_M, "mg/m³", "N4.3", "a99051"),
    _L("13", "硫醇", _AIR_M, "mg/m³", "N4.3", "a30022"),
    _L("14", "硫酸雾", _AIR_M, "mg/m³", "N4.3", "a34039"),
    _L("15", "铬酸雾", _AIR_M, "mg/m³", "N2.4", "a34040"),
    _L("16", "苯系物", _AIR_M, "mg/m³", "N4.2", ""),
    _L("17", "甲苯", _AIR_M, "mg/m³", "N4.2", "a25003"),
    _L("18", "二甲苯", _AIR_M, "mg/m³", "N4.2", "a25005"),
    _L("19", "甲醛", _AIR_M, "mg/m³", "N3.3", "a31001"),
    _L("20", "苯并(a)芘", _AIR_M, "mg/m³", "N3.6", "a25044"),
    _L("21", "苯胺类", _AIR_M, "mg/m³", "N4.3", "a26001"),
    _L("22", "硝基苯类", _AIR_M, "mg/m³", "N3.4", "a25023"),
    _L("23", "氯苯类", _AIR_M, "mg/m³", "N4.3", "a25010"),
    _L("24", "光气", _AIR_M, "mg/m³", "N3.3", "a99049"),
    _L("25", "碳氢化合物(含非甲烷总烃)", _AIR_M, "mg/m³", "N5.2", "a24087"),
    _L("26", "乙醛", _AIR_M, "mg/m³", "N3.4", "a31002"),
    _L("27", "酚类", _AIR_M, "mg/m³", "N3.3", "a23001"),
    _L("28", "甲醇", _AIR_M, "mg/m³", "N5.2", "a30001"),
    _L("29", "氯乙烯", _AIR_M, "mg/m³", "N4.3", "a24046"),
    _L("30", "二氧化碳", _AIR_M, "mg/m³", "N4.3", "a05001"),
    _L("31", "汞及其化合物", _AIR_M, "mg/m³", "N4.4", "a20057"),
    _L("32", "铅及其化合物", _AIR_M, "mg/m³", "N2.4", "a20043"),
    _L("33", "镉及其化合物", _AIR_M, "mg/m³", "N3.4", "a20025"),
    _L("34", "锡及其化合物", _AIR_M, "mg/m³", "N4.3", "a20091"),
    _L("35", "镍及其化合物", _AIR_M, "mg/m³", "N3.3", "a20063"),
    _L("36", "铍及其化合物", _AIR_M, "mg/m³", "N4.4", "a20016"),
    _L("37", "林格曼黑度", _AIR_M, "", "N1", "a01010"),
    _L("99", "其他气污染物", _AIR_M, "", "", ""),
    _L("B01", "污水", _WATER_M, "L/s", "", "w00000"),
    _L("001", "pH 值", _WATER_M, "", "N2.1", "w01001"),
    _L("002", "色度", _WATER_M, "degree", "N5.1", "w01002"),
    _L("003", "悬浮物", _WATER_M, "mg/L", "N5.1", "w01012"),
    _L("010", "生化需氧量（BOD5）", _WATER_M, "mg/L", "N5.1", "w01017"),
    _L("011", "化学需氧量（CODcr）", _WATER_M, "mg/L", "N6.1", "w01018"),
    _L("015", "总有机碳", _WATER_M, "mg/L", "N3.2", "w01020"),
    _L("020", "总汞", _WATER_M, "mg/L", "N2.3", "w20111"),
    _L("021", "烷基汞", _WATER_M, "mg/L", "N2.1", "w20113"),
    _L("022", "总镉", _WATER_M, "mg/L", "N2.2", "w20115"),
    _L("023", "总铬", _WATER_M, "mg/L", "N3.2", "w20116"),
    _L("024", "六价铬", _WATER_M, "mg/L", "N2.2", "w20117"),
    _L("025", "三价铬", _WATER_M, "mg/L", "N3.2", ""),
    _L("026", "总砷", _WATER_M, "mg/L", "N2.2", "w20119"),
    _L("027", "总铅", _WATER_M, "mg/L", "N3.2", "w20120"),
    _L("028", "总镍", _WATER_M, "mg/L", "N3.2", "w20121"),
    _L("029", "总铜", _WATER_M, "mg/L", "N3.2", "w20122"),
    _L("030", "总锌", _WATER_M, "mg/L", "N3.2", "w20123"),
    _L("031", "总锰", _WATER_M, "mg/L", "N3.2", "w20124"),
    _L("032", "总铁", _WATER_M, "mg/L", "N3.2", "w20125"),
    _L("033", "总银", _WATER_M, "mg/L", "N2.2", "w20126"),
    _L("034", "总铍", _WATER_M, "mg/L", "N2.3", "w20127"),
    _L("035", "总硒", _WATER_M, "mg/L", "N2.2", "w20128"),
    _L("036", "锡", _WATER_M, "mg/L", "N3.6", "w20092"),
    _L("037", "硼", _WATER_M, "mg/L", "N3.6", "w20023"),
    _L("038", "钼", _WATER_M, "mg/L", "N3.6", "w20061"),
    _L("039", "钡", _WATER_M, "mg/L", "N3.6", "w20012"),
    _L("040", "钴", _WATER_M, "mg/L", "N3.6", "w20038"),
    _L("041", "铊", _WATER_M, "mg/L", "N3.6", "w20089"),
    _L("060", "氨氮", _WATER_M, "mg/L", "N2.3", "w21003"),
    _L("061", "有机氮", _WATER_M, "mg/L", "N3.2", "w99001"),
    _L("065", "总氮", _WATER_M, "mg/L", "N3.2", "w21001"),
    _L("080", "石油类", _WATER_M, "mg/L", "N3.2", "w22001"),
    _L("101", "总磷", _WATER_M, "mg/L", "N3.2", "w21011"),
)


def _sym(unit_zh: str) -> str:
    return UNIT_SYMBOLS.get(unit_zh, unit_zh)


def _build_legacy() -> tuple[Mapping[str, Mapping[str, str]], Mapping[str, str]]:
    by_medium: dict[str, dict[str, str]] = {_WATER_M: {}, _AIR_M: {}, _NOISE_M: {}}
    for table, med in ((_B1, _WATER_M), (_B2, _AIR_M)):
        for row in table:
            if row[6]:
                by_medium[med][row[6]] = row[0]
    for leg in _LEGACY_2005_LIST:
        if leg.code_2017 and leg.code_2017 != leg.code:
            by_medium[leg.medium].setdefault(leg.code, leg.code_2017)
    union: dict[str, str] = {}
    for table_map in by_medium.values():
        union.update(table_map)
    frozen = {med: MappingProxyType(m) for med, m in by_medium.items()}
    return MappingProxyType(frozen), MappingProxyType(union)


_LEGACY_TABLES: Final = _build_legacy()
_LEGACY_BY_MEDIUM: Final[Mapping[str, Mapping[str, str]]] = _LEGACY_TABLES[0]
LEGACY_TO_2017: Final[Mapping[str, str]] = _LEGACY_TABLES[1]
"""Old code ("原编码" of B.1/B.2 and HJ/T 212-2005 App. B) → 2017 code (all media)."""


def _legacy_of(code: str) -> tuple[str, ...]:
    return tuple(sorted(old for old, new in LEGACY_TO_2017.items() if new == code))


def _build_factors() -> Mapping[str, Factor]:
    out: dict[str, Factor] = {}
    for row in (*_B1, *_B2):
        code, zh, en, unit_zh, cou_zh, dtype, _old, group = row
        out[code] = Factor(
            code,
            zh,
            en,
            _sym(unit_zh),
            _sym(cou_zh),
            group,
            _legacy_of(code),
            dtype,
            unit_zh,
            cou_zh,
        )
    # Not in B.2: O3 as used by ambient-air platforms (HJ 524 code a05024); unit from that
    # practice (GB 3095 reports O3 in µg/m³), not from HJ 212, hence no unit_zh/data type.
    out["a05024"] = Factor("a05024", "臭氧", "ozone (O3)", "µg/m³", "", _AIR, (), "")
    for code, zh, en in _B3:
        out[code] = Factor(code, zh, en, "dB", "", _NOISE, _legacy_of(code), "N3.1", "分贝")
    for code, zh, en, unit_zh, dtype, group in _PROCESS:
        out[code] = Factor(code, zh, en, _sym(unit_zh), "", group, (), dtype, unit_zh)
    return MappingProxyType(out)


FACTORS: Final[Mapping[str, Factor]] = _build_factors()
"""2017 code → Factor: B.1, B.2 (+ a05024 O3), B.3, B.5 and B.7 (process codes as templates
ending in ``xx``)."""

INFO_FACTORS: Final[Mapping[str, Factor]] = MappingProxyType(
    {
        code: Factor(code, zh, en, _sym(unit_zh), "", _INFO, (), dtype, unit_zh)
        for code, zh, en, unit_zh, dtype in _B10
    }
)
"""B.10 information code → Factor with group "info" (templates end in ``x``)."""

INFO_CODES: Final[Mapping[str, tuple[str, str]]] = MappingProxyType(
    {code: (f.name_zh, f.name_en) for code, f in INFO_FACTORS.items()}
)
"""B.10 information code → (name_zh, name_en)."""


def _build_clashes() -> Mapping[str, tuple[Factor, ...]]:
    out: dict[str, tuple[Factor, ...]] = {}
    for code, zh, en, unit_zh, dtype in _PROCESS_DUPLICATES:
        first = FACTORS[code]
        second = Factor(code, zh, en, _sym(unit_zh), "", first.group, (), dtype, unit_zh)
        out[code] = (*out.get(code, (first,)), second)
    return MappingProxyType(out)


PROCESS_CODE_CLASHES: Final[Mapping[str, tuple[Factor, ...]]] = _build_clashes()
"""Process codes B.5/B.7 print more than once → every definition, FACTORS' one first."""

LEGACY_2005_CODES: Final[Mapping[str, LegacyCode]] = MappingProxyType(
    {leg.code: leg for leg in _LEGACY_2005_LIST}
)
"""Every code of HJ/T 212-2005 App. B with its 2005 name, unit and data type."""


def factor_key(code: str) -> str | None:
    """Key of :data:`FACTORS` or :data:`INFO_FACTORS` describing ``code``, or None.

    Exact codes map to themselves; a process instance ``e10101`` / ``g11902`` maps to its
    template ``e101xx`` / ``g119xx``; ``i`` codes are matched case-insensitively and an
    instance ``i33312`` maps to ``i3331x``.
    """
    if code in FACTORS or code in INFO_FACTORS:
        return code
    if len(code) != 6:
        return None
    head = code[0]
    if head in "eg":
        key = code[:4] + "xx"
        return key if key in FACTORS else None
    if head in "iI":
        low = code.lower()
        if low in INFO_FACTORS:
            return low
        key = low[:5] + "x"
        return key if key in INFO_FACTORS else None
    return None


def factor(code: str) -> Factor | None:
    """Factor for a 2017 code (B.1-B.3, B.5, B.7, or a B.10 ``i`` code), else None."""
    found = FACTORS.get(code)
    if found is not None:
        return found
    key = factor_key(code)
    if key is None:
        return None
    return FACTORS.get(key) or INFO_FACTORS.get(key)


def legacy_to_2017(code: str, st: str | None = None) -> str | None:
    """2017 code for an old (2005 / "原编码") code, resolved with the station type ``st``.

    A code that already is a 2017 factor code is returned unchanged (the noise codes ``L5``,
    ``Leq``... are the same in both editions).  Otherwise, when ``st`` names a medium
    (:func:`protocol.systems.medium`: water, air or noise) only that medium's old codes are
    considered; without one the union table :data:`LEGACY_TO_2017` is used.
    """
    if code in FACTORS:
        return code
    med = _st_medium(st)
    if med is None:
        return LEGACY_TO_2017.get(code)
    table = _LEGACY_BY_MEDIUM.get(med)
    return None if table is None else table.get(code)


def resolve_factor(code: str, st: str | None = None) -> Factor | None:
    """Factor for a 2017 code or, failing that, for an old code (see legacy_to_2017)."""
    found = factor(code)
    if found is not None:
        return found
    new = legacy_to_2017(code, st)
    return None if new is None else FACTORS.get(new)
