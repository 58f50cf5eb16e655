-- 0047 GB 3095 功能区类别 of a station (GB 3095—2026 §4.1–4.2; GB 3095—2012 §4.1–4.2):
-- 1 = 一类区 (national parks, nature reserves, natural parks and other areas needing special
-- protection; grade I limits), 2 = 二类区 (residential, commercial, traffic, cultural,
-- industrial and rural areas; grade II limits).  Every existing station is class 2, as the
-- platform assumed before this column.
ALTER TABLE stations
    ADD COLUMN area_class smallint NOT NULL DEFAULT 2 CHECK (area_class IN (1, 2));
