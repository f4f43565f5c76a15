output "redis_url" {
  description = "REDIS_URL with the AUTH string."
  sensitive   = true
  value       = "redis://:${google_redis_instance.this.auth_string}@${google_redis_instance.this.host}:${google_redis_instance.this.port}/0"
}
