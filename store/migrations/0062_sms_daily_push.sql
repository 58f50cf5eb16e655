-- 0062 SMS receivers and the daily push (alerts/notifiers/sms.py, alerts/daily_push.py).
--
-- Receivers of kind 'aliyun_sms' (阿里云短信, dysmsapi SendSms) and 'tencent_sms' (腾讯云短信,
-- SendSms 2021-01-11): the address is one or more mobile numbers; the cloud credentials
-- are settings (alerts.sms_*), never stored here.
ALTER TABLE alert_receivers DROP CONSTRAINT alert_receivers_kind_check;
ALTER TABLE alert_receivers ADD CONSTRAINT alert_receivers_kind_check
    CHECK (kind IN ('email', 'webhook', 'wecom', 'dingtalk', 'aliyun_sms', 'tencent_sms'));

-- A message over a receiver's SMS cap (alerts.sms_max_per_hour) is 'dropped': counted,
-- logged, and announced in that receiver's next SMS ("另有 N 条短信因限额未发送").
ALTER TABLE alert_notifications DROP CONSTRAINT alert_notifications_status_check;
ALTER TABLE alert_notifications ADD CONSTRAINT alert_notifications_status_check
    CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'dropped'));

-- The cap counts the receiver's SMS of the last hour, and the roll-up the ones dropped
-- since its last SMS: both read this index.
CREATE INDEX alert_notifications_receiver_sent_idx
    ON alert_notifications (receiver_id, sent_at DESC)
    WHERE status IN ('sent', 'dropped');
