output "load_balancer_ip" {
  description = "Point the domain's A record here."
  value       = module.load_balancer.ip_address
}

output "image_repository" {
  description = "Push release images here (deploy.sh does)."
  value       = module.registry.image_repository
}

output "sql_connection_name" {
  description = "Cloud SQL connection name (deploy.sh's SQL_CONNECTION)."
  value       = module.database.connection_name
}

output "jobs_bucket" {
  description = "JOB_STORAGE_BUCKET."
  value       = module.storage.bucket
}

output "service_accounts" {
  description = "Role => service account email."
  value       = module.identities.emails
}

output "service_urls" {
  description = "run.app URLs (reachable only through the load balancer)."
  value = {
    api      = module.api.uri
    realtime = module.realtime.uri
    worker   = module.worker.uri
  }
}
