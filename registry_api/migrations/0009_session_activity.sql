-- When a session was last used: the console ends a person's session after a spell of
-- inactivity (CONSOLE_IDLE_MINUTES); API tokens keep their fixed lifetime.
ALTER TABLE sessions ADD COLUMN last_seen_at timestamptz NOT NULL DEFAULT now();
