"""What the admin dashboard shows beyond users and keys: turn analytics, process
counters, live connections and the effective configuration with secrets masked."""
