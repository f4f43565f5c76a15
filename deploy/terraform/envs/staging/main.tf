# staging: production's shape at a tenth of the size, for release rehearsals and load
# tests. One warm realtime instance, as in production.

module "ballsy" {
  source          = "../../modules/ballsy"
  project_id      = var.project_id
  region          = var.region
  environment     = "staging"
  domain          = var.domain
  release         = var.release
  alert_email     = var.alert_email
  billing_account = var.billing_account

  api_min_instances      = 0
  api_max_instances      = 4
  realtime_min_instances = 1
  realtime_max_instances = 10
  worker_max_instances   = 2

  sql_tier              = "db-custom-2-7680"
  sql_high_availability = false
  sql_disk_size_gb      = 20
  sql_max_connections   = 400
  sql_retained_backups  = 7
  redis_tier            = "BASIC"
  redis_memory_gb       = 1

  deletion_protection = true
  monthly_budget_usd  = 600
}
