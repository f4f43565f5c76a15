output "connection_name" {
  description = "project:region:instance, for the Cloud Run Cloud SQL volume."
  value       = google_sql_database_instance.this.connection_name
}

output "database_url" {
  description = "DATABASE_URL through the Cloud SQL unix socket Cloud Run mounts at /cloudsql."
  sensitive   = true
  value       = "postgresql://${google_sql_user.ballsy.name}:${random_password.ballsy.result}@/${google_sql_database.ballsy.name}?host=/cloudsql/${google_sql_database_instance.this.connection_name}"
}
