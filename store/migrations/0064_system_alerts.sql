-- 0064 system alerts: alerts about the platform itself (alerts/system.py), scope
-- 'system:<what>', no station.  The route for 备份失败 (rule backup_failed, raised by the
-- scheduled backup, envgrid/backup_job.py) reaches the maintainers and officers who are
-- responsible for everything (scope 'all'); edit it like any route.
INSERT INTO alert_routes (name, position, matchers, to_roles, group_by, continue_matching)
VALUES ('系统：备份失败', 5, '{"rule": ["backup_failed"]}', '{maintainer,officer}', '{rule}',
        false)
ON CONFLICT (name) DO NOTHING;
