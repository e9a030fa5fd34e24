-- Activities restricted to member categories stored the picker's old numbers ('1'..'4') while
-- members carry the category keys of bot/labels.KINDS["category"]; such an activity matched
-- nobody. Store the keys (1 enterprise, 2 intermediary, 3 freelancer, 4 new_media).
UPDATE activities SET categories = '|' || categories || '|' WHERE categories <> '';
UPDATE activities SET categories = REPLACE(categories, '|1|', '|enterprise|') WHERE categories LIKE '%|1|%';
UPDATE activities SET categories = REPLACE(categories, '|2|', '|intermediary|') WHERE categories LIKE '%|2|%';
UPDATE activities SET categories = REPLACE(categories, '|3|', '|freelancer|') WHERE categories LIKE '%|3|%';
UPDATE activities SET categories = REPLACE(categories, '|4|', '|new_media|') WHERE categories LIKE '%|4|%';
UPDATE activities SET categories = SUBSTR(categories, 2, LENGTH(categories) - 2) WHERE categories LIKE '|%|';
