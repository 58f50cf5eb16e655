"""The dashboard's data audit (数据审核): the station page's audit panel (raw and audited
hours side by side, select a range, 标记无效/恢复) and the 数据审核 page (pre-audit
proposals confirmed in bulk, the audit log).  The work is :mod:`aggregates.audit`'s."""
