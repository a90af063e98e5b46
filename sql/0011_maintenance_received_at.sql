-- When cxvitals received each maintenance declaration (issue 15, finding 4). Whether a
-- window was planned is decided by receipt: declared_at is the receipt time unless the
-- sender's token may back-date (maintenance-history), and then received_at > declared_at
-- shows the declaration as back-dated. Rows written before this column existed carry
-- their declared_at (their receipt time was not recorded).
ALTER TABLE {{db}}.maintenance_windows ADD COLUMN IF NOT EXISTS received_at DateTime64(3, 'UTC') DEFAULT declared_at;
