"""Who may use the web console and the API: users with passwords, and API tokens."""
