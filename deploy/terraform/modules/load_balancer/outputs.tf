output "ip_address" {
  description = "Point the domains' A records here."
  value       = google_compute_global_address.this.address
}

output "security_policy" {
  description = "The Cloud Armor policy's name."
  value       = google_compute_security_policy.this.name
}
