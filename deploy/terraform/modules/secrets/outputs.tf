output "secret_ids" {
  description = "The secret ids, for Cloud Run secret_key_ref."
  value       = { for name, secret in google_secret_manager_secret.this : name => secret.secret_id }
}
