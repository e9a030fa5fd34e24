-- Issue 16: an anonymous feedback item keeps ONE scope group (several would let their intersection
-- name the author). Items stored before keep their coarsest group (the shortest path); its name is
-- shown only while its subtree holds at least 5 active members (storage/feedback.py).
DELETE FROM feedback_groups
 WHERE feedback_id IN (SELECT id FROM feedback_items WHERE anonymous = 1)
   AND EXISTS (
       SELECT 1 FROM feedback_groups o
        WHERE o.feedback_id = feedback_groups.feedback_id
          AND (LENGTH(o.path) < LENGTH(feedback_groups.path)
               OR (LENGTH(o.path) = LENGTH(feedback_groups.path) AND o.group_id < feedback_groups.group_id)));
