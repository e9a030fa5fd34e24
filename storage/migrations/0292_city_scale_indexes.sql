-- City scale (issue 19, bench/scale.py: 16 districts, 1,000,000 members on PostgreSQL).
-- Partial indexes: each holds only the rows one hot question asks about, so it stays small
-- and a full pass over it is cheap next to a pass over the table.

-- Audiences (segment counts, the set-based enqueue): the members a notice can reach. A district's
-- count (57,000 of 1,000,000) read this narrow index instead of every member row: 788 -> 509 ms
-- on a loaded machine.
CREATE INDEX members_reachable ON members (id) WHERE status = 'active' AND user_id IS NOT NULL
    AND unreachable_at IS NULL;

-- /stats: members who blocked the bot (few), counted without joining every member to bot_users.
CREATE INDEX bot_users_blocked ON bot_users (user_id) WHERE blocked_at IS NOT NULL;

-- /stats: pending requests to join a group (few), without a pass over every membership.
CREATE INDEX member_groups_pending ON member_groups (group_id, member_id) WHERE status = 'pending';

-- /stats' next change: the first profile to turn stale, the minimum read from an index.
CREATE INDEX members_confirmed ON members (COALESCE(profile_confirmed_at, registered_at)) WHERE status = 'active';
