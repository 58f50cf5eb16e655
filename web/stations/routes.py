"""Routes of the stations module: registry, live data, series, packets, limits, commands,
pending stations and the maintenance list."""

from __future__ import annotations

from typing import Final

from web.openapi import (
    AREA,
    INT,
    NTIME,
    OBJ,
    OK,
    PAGING,
    REGION,
    ST,
    STATUS,
    STR,
    WINDOW,
    Param,
    Q,
    page_of,
)
from web.openapi import (
    Endpoint as E,
)

from . import handlers, registry

STATION_ITEM: Final = {
    "type": "object",
    "required": ["id", "mn", "name", "status"],
    "properties": {
        "id": INT,
        "mn": STR,
        "name": STR,
        "st": {"type": ["string", "null"]},
        "lat": {"type": ["number", "null"]},
        "lon": {"type": ["number", "null"]},
        "region": STR,
        "area_class": {"type": "integer", "enum": [1, 2]},
        "status": {"type": "string", "enum": ["online", "offline", "disabled"]},
        "last_data_at": NTIME,
    },
}
STATION_BODY: Final = {
    "type": "object",
    "properties": {
        "mn": {"type": "string", "minLength": 1, "maxLength": 32},
        "name": {"type": "string", "maxLength": 100},
        "password": {"type": "string", "maxLength": 64},
        "st": {"type": "string", "pattern": "^[0-9]{2}$"},
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
        "lon": {"type": "number", "minimum": -180, "maximum": 180},
        "region": {"type": "string", "maxLength": 64},
        "grid_id": {"type": "integer", "minimum": 1},
        "address": {"type": "string", "maxLength": 200},
        "expected_factors": {"type": "array", "items": {"type": "string", "maxLength": 12}},
        "rtd_interval": {"type": "integer", "minimum": 1, "maximum": 86400},
        "min_interval": {"type": "integer", "minimum": 1, "maximum": 1440},
        "enabled": {"type": "boolean"},
        "modbus_crc": {"type": "boolean"},
        "area_class": {
            "type": "integer",
            "enum": [1, 2],
            "description": "功能区类别：1 一类区，2 二类区",
        },
        "limits": {"type": "object", "additionalProperties": {"type": "number", "minimum": 0}},
        "edition": {
            "type": "string",
            "enum": ["2005", "2017", "2025"],
            "description": "登记的协议版本（HJ 212）",
        },
        "strict_edition": {"type": "boolean", "description": "拒收其他版本的报文"},
        "sm4_key": {
            "type": "string",
            "minLength": 16,
            "maxLength": 32,
            "description": "HJ 212-2025 SM4 密钥：16 个字符或 32 位十六进制（只写，不回显）",
        },
    },
}
CREATE_STATION_BODY: Final = {**STATION_BODY, "required": ["mn"]}
COMMAND_RECORD: Final = {
    "type": "object",
    "required": ["id", "cn", "status"],
    "properties": {"id": INT, "cn": INT, "status": STR, "replies": {"type": "array"}},
}

API: Final[tuple[E, ...]] = (
    E(
        "GET",
        "/api/v1/stations",
        handlers.list_stations,
        "stations:read",
        "站点列表",
        "站点",
        params=(Q, ST, REGION, AREA, STATUS, *PAGING),
        response=page_of(STATION_ITEM),
        description=(
            "调用者数据范围内的站点（含在线状态与最新数据时间），可按 MN/名称、类型、区县、"
            "网格与状态筛选。\n\n示例：\n\n"
            "```\ncurl -H 'Authorization: Bearer eg_…' \\\n"
            "     'https://HOST/api/v1/stations?st=22&status=online&limit=50'\n```"
        ),
    ),
    E(
        "POST",
        "/api/v1/stations",
        registry.create_station,
        "stations:write",
        "登记站点",
        "站点",
        body=CREATE_STATION_BODY,
        status=201,
        response={"type": "object", "properties": {"id": INT, "mn": STR}},
    ),
    E(
        "GET",
        "/api/v1/stations/{id}",
        handlers.get_station,
        "stations:read",
        "站点详情与实时数据",
        "站点",
    ),
    E(
        "PATCH",
        "/api/v1/stations/{id}",
        registry.update_station,
        "stations:write",
        "修改/停用站点",
        "站点",
        body=STATION_BODY,
    ),
    E(
        "GET",
        "/api/v1/stations/{id}/series",
        handlers.station_series,
        "stations:read",
        "站点曲线数据（近1小时/近24小时）",
        "站点",
        params=(
            Param("view", {"type": "string", "enum": ["hour", "day"]}),
            Param("kind", {"type": "string", "enum": ["rtd", "minute", "hour", "day"]}),
            Param("bucket", {"type": "integer", "minimum": 0, "maximum": 86400}),
            Param("factor", {"type": "string", "maxLength": 200}, description="因子编码，逗号分隔"),
            *WINDOW,
        ),
        description=(
            "一个站点的监测数据曲线：`view=hour` 近 1 小时实时数据，`view=day` 近 24 小时；"
            "或用 `kind`（rtd/minute/hour/day）与 `from`/`to` 取任意时段，`factor` 限定因子。"
            "\n\n示例（PM2.5 与 PM10 的小时值）：\n\n"
            "```\ncurl -H 'Authorization: Bearer eg_…' \\\n"
            "     'https://HOST/api/v1/stations/12/series?kind=hour&factor=a34004,a34002"
            "&from=2026-12-01T00:00:00%2B08:00&to=2026-12-02T00:00:00%2B08:00'\n```"
        ),
    ),
    E(
        "GET",
        "/api/v1/stations/{id}/packets",
        handlers.station_packets,
        "stations:read",
        "原始报文（报文台账）",
        "站点",
        params=(
            Param("cn", {"type": "integer", "minimum": 0, "maximum": 9999}),
            *WINDOW,
            *PAGING,
        ),
        response=page_of(OBJ),
    ),
    E(
        "GET",
        "/api/v1/stations/{id}/equipment",
        handlers.station_equipment,
        "stations:read",
        "设备状态",
        "站点",
        params=WINDOW,
    ),
    E(
        "GET",
        "/api/v1/stations/{id}/limits",
        handlers.station_limits,
        "stations:read",
        "站点告警限值（生效规则、GB 3095、站点限值）",
        "站点",
    ),
    E(
        "POST",
        "/api/v1/stations/{id}/limits",
        handlers.set_station_limit,
        "alerts:limits",
        "设置站点告警限值",
        "站点",
        body={
            "type": "object",
            "required": ["factor_code"],
            "properties": {
                "factor_code": {"type": "string", "maxLength": 12},
                "upper": {"type": "number"},
                "lower": {"type": "number"},
                "severity": {"type": "string", "enum": ["critical", "major", "warning", "info"]},
                "enabled": {"type": "boolean"},
            },
        },
    ),
    E(
        "DELETE",
        "/api/v1/stations/{id}/limits/{limit}",
        handlers.delete_station_limit,
        "alerts:limits",
        "删除站点告警限值",
        "站点",
        response=OK,
    ),
    E(
        "GET",
        "/api/v1/stations/{id}/commands",
        handlers.station_commands,
        "stations:read",
        "远程命令记录",
        "命令",
        params=PAGING,
        response=page_of(COMMAND_RECORD),
    ),
    E(
        "POST",
        "/api/v1/stations/{id}/commands",
        handlers.send_command,
        "commands:send",
        "下发远程命令",
        "命令",
        status=201,
        response=COMMAND_RECORD,
        body={
            "type": "object",
            "required": ["verb"],
            "properties": {
                "verb": {"type": "string", "maxLength": 40},
                "params": {"type": "object", "additionalProperties": {"type": "string"}},
                "timeout_s": {"type": "integer", "minimum": 5, "maximum": 86400},
            },
        },
    ),
    E(
        "GET",
        "/api/v1/commands",
        handlers.list_command_verbs,
        "stations:read",
        "可用命令",
        "命令",
        response={"type": "array", "items": OBJ},
    ),
    E(
        "GET",
        "/api/v1/commands/{id}",
        handlers.get_command,
        "stations:read",
        "命令状态与应答",
        "命令",
        response=COMMAND_RECORD,
    ),
    E(
        "GET",
        "/api/v1/factors",
        handlers.list_factors,
        "stations:read",
        "监测因子",
        "站点",
        response={"type": "array", "items": OBJ},
    ),
    E(
        "GET",
        "/api/v1/pending-stations",
        registry.list_pending,
        "stations:write",
        "待审批的新站点",
        "站点",
        response={"type": "array", "items": OBJ},
    ),
    E(
        "POST",
        "/api/v1/pending-stations/{mn}/approve",
        registry.approve_pending,
        "stations:write",
        "审批通过新站点",
        "站点",
        params=(Param("mn", {"type": "string", "pattern": "^[A-Za-z0-9]{1,32}$"}, "path"),),
        body=STATION_BODY,
        status=201,
    ),
    E(
        "POST",
        "/api/v1/pending-stations/{mn}/reject",
        registry.reject_pending,
        "stations:write",
        "拒绝新站点",
        "站点",
        params=(Param("mn", {"type": "string", "pattern": "^[A-Za-z0-9]{1,32}$"}, "path"),),
    ),
    E(
        "GET",
        "/api/v1/maintenance/stations",
        handlers.maintenance_stations,
        "maintenance:read",
        "运维站点列表（在线/离线）",
        "运维",
        params=(
            Q,
            REGION,
            Param("status", {"type": "string", "enum": ["online", "offline"]}),
            *PAGING,
        ),
        response=page_of(OBJ),
    ),
)
