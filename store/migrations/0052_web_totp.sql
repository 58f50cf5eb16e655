-- 0052 web: the TOTP second factor (RFC 6238), log-ins waiting for their code, and an id
-- for each session (the security page lists and ends sessions by it, never by token).

-- One authenticator per user.  The secret (base32) is shown to the user once, while they
-- enrol, and never sent out again; ``secret_sealed`` holds it encrypted with a key kept
-- outside the database (web.auth.sealing, web.totp_key_file); ``confirmed_at`` NULL: enrolment started, not confirmed
-- with a code yet (the log-in does not ask for it).  ``last_step`` is the time step
-- (unix time / 30) of the last code accepted: a code of that step or an earlier one is
-- refused, so a code cannot be used twice.
CREATE TABLE web_user_totp (
    user_id      integer PRIMARY KEY REFERENCES web_users (id) ON DELETE CASCADE,
    secret_sealed text NOT NULL,
    confirmed_at timestamptz,
    last_step    bigint NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- A log-in whose password was right and whose code is awaited: the browser holds a random
-- token (cookie on /login only), the table its SHA-256; it expires after a few minutes.
CREATE TABLE web_login_challenges (
    token_hash bytea PRIMARY KEY,
    user_id    integer NOT NULL REFERENCES web_users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX web_login_challenges_expiry_idx ON web_login_challenges (expires_at);

ALTER TABLE web_sessions ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY;
ALTER TABLE web_sessions ADD CONSTRAINT web_sessions_id_key UNIQUE (id);
