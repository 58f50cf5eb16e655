"""Log-in, sessions, CSRF, API tokens, lock-out and the password policy."""
