"""The security page for administrators: active sessions, API tokens, second factors."""
