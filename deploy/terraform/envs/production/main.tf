# production: sized by `ballsy plan --sessions 1000` (docs/deploy.md): up to 100
# realtime instances (1500 sessions), a highly available database and Redis, every
# stateful resource protected from deletion.

module "ballsy" {
  source          = "../../modules/ballsy"
  project_id      = var.project_id
  region          = var.region
  environment     = "production"
  domain          = var.domain
  release         = var.release
  alert_email     = var.alert_email
  billing_account = var.billing_account

  api_min_instances      = 0
  api_max_instances      = 20
  realtime_min_instances = 1
  realtime_max_instances = 100
  worker_max_instances   = 10

  sql_tier              = "db-custom-2-7680"
  sql_high_availability = true
  sql_disk_size_gb      = 50
  sql_max_connections   = 1000
  sql_retained_backups  = 30
  redis_tier            = "STANDARD_HA"
  redis_memory_gb       = 1

  deletion_protection = true
  monthly_budget_usd  = 6000
}
