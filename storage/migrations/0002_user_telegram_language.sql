-- The language Telegram reported for the user when last seen ('zh-Hans' or 'en'), so messages the
-- bot sends on its own use it when the user never chose one with /language.
ALTER TABLE bot_users ADD COLUMN tg_language TEXT;
