"""Who may use the lab server: users, their passwords and their roles."""
