"""Real-time conversation: one engine per connection, and its wire protocols."""
