-- The Mini App's paged lists (issue #20), keyset pagination on the server:
-- the member directory walks members in (name, id) order (a name may be NULL: '' sorts it first on
-- both backends) and stops after one page; status and name ride along so a name search reads
-- the index only;
-- the join requests page walks pending memberships in (requested_at) order.
CREATE INDEX members_name_id ON members ((COALESCE(name, '')), id, status, name);
CREATE INDEX member_groups_requests ON member_groups (status, requested_at, member_id);
-- the feedback board pages one status column newest first.
CREATE INDEX feedback_items_status_id ON feedback_items (status, id);
