output "network_id" {
  description = "The VPC's id (Cloud SQL private network, Memorystore authorized network)."
  value       = google_compute_network.this.id
}

output "network_name" {
  description = "The VPC's name (Cloud Run network interface)."
  value       = google_compute_network.this.name
}

output "subnet_name" {
  description = "The Cloud Run subnet's name."
  value       = google_compute_subnetwork.run.name
}

output "private_services_connection" {
  description = "The private service access peering; databases depend on it."
  value       = google_service_networking_connection.services.id
}
