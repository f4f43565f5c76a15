output "load_balancer_ip" {
  description = "Point the domain's A record here."
  value       = module.ballsy.load_balancer_ip
}

output "image_repository" {
  description = "Push release images here."
  value       = module.ballsy.image_repository
}

output "sql_connection_name" {
  description = "Cloud SQL connection name."
  value       = module.ballsy.sql_connection_name
}

output "jobs_bucket" {
  description = "JOB_STORAGE_BUCKET."
  value       = module.ballsy.jobs_bucket
}
