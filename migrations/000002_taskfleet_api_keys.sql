-- API keys for the ingest API. Keys look like tf_<prefix>_<secret>; only a SHA-256 of the secret
-- is stored (the secret is 256 random bits, so a slow password hash adds nothing). The prefix is
-- public: it finds the row and appears in listings and logs.
CREATE TABLE taskfleet.api_keys (
  id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name                  text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
  prefix                text NOT NULL UNIQUE CHECK (prefix ~ '^[a-z0-9]{8,16}$'),
  secret_sha256         bytea NOT NULL CHECK (length(secret_sha256) = 32),
  scopes                text[] NOT NULL DEFAULT '{submit}'
                        CHECK (scopes <@ ARRAY['submit', 'read', 'admin']::text[]),
  rate_limit_per_second integer CHECK (rate_limit_per_second IS NULL OR rate_limit_per_second > 0),
  created_at            timestamptz NOT NULL DEFAULT now(),
  revoked_at            timestamptz,
  last_used_at          timestamptz
);
