# dev: the smallest thing that is still the real topology. Scales to zero (realtime
# too), one zonal database without standby, a basic Redis, nothing protected from
# deletion. Backups and point-in-time recovery stay on: restores get rehearsed here.

module "ballsy" {
  source          = "../../modules/ballsy"
  project_id      = var.project_id
  region          = var.region
  environment     = "dev"
  domain          = var.domain
  release         = var.release
  alert_email     = var.alert_email
  billing_account = var.billing_account

  api_min_instances      = 0
  api_max_instances      = 2
  realtime_min_instances = 0
  realtime_max_instances = 3
  worker_max_instances   = 1

  sql_tier              = "db-custom-1-3840"
  sql_high_availability = false
  sql_disk_size_gb      = 20
  sql_max_connections   = 200
  sql_retained_backups  = 7
  redis_tier            = "BASIC"
  redis_memory_gb       = 1

  deletion_protection = false
  monthly_budget_usd  = 150
}
