"""Users, roles, data scopes, and the login/operation logs (admins)."""
