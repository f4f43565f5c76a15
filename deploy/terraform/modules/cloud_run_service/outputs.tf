output "name" {
  description = "Service name (the load balancer's serverless NEG points at it)."
  value       = google_cloud_run_v2_service.this.name
}

output "uri" {
  description = "The run.app URL (reachable only through the load balancer)."
  value       = google_cloud_run_v2_service.this.uri
}
