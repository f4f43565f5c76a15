# The three Cloud Run services (one image, three roles) and the migration job.
# Shapes match ballsy.capacity.plan.ROLE_SHAPES and deploy/cloudrun/*.yaml.

module "api" {
  source                = "../cloud_run_service"
  project_id            = var.project_id
  region                = var.region
  name                  = "ballsy-api"
  role                  = "api"
  image                 = local.image
  args                  = ["serve", "--role", "api"]
  service_account_email = module.identities.emails["api"]
  cpu                   = "2"
  memory                = "2Gi"
  concurrency           = 80
  timeout_seconds       = 300
  min_instances         = var.api_min_instances
  max_instances         = var.api_max_instances
  cpu_always_allocated  = false
  sql_connection_name   = module.database.connection_name
  network               = module.network.network_name
  subnetwork            = module.network.subnet_name
  deletion_protection   = var.deletion_protection
  labels                = local.labels
  secret_env            = local.secret_env
  env = merge(local.common_env, local.jobs_env, {
    DATABASE_POOL_SIZE    = "8"
    DATABASE_MAX_OVERFLOW = "4"
  })
  depends_on = [module.secrets]
}

module "realtime" {
  source                = "../cloud_run_service"
  project_id            = var.project_id
  region                = var.region
  name                  = "ballsy-realtime"
  role                  = "realtime"
  image                 = local.image
  args                  = ["serve", "--role", "realtime"]
  service_account_email = module.identities.emails["realtime"]
  cpu                   = "2"
  memory                = "4Gi"
  concurrency           = 15
  timeout_seconds       = 3600
  min_instances         = var.realtime_min_instances
  max_instances         = var.realtime_max_instances
  cpu_always_allocated  = true
  session_affinity      = true
  sql_connection_name   = module.database.connection_name
  network               = module.network.network_name
  subnetwork            = module.network.subnet_name
  deletion_protection   = var.deletion_protection
  labels                = local.labels
  secret_env            = local.secret_env
  env = merge(local.common_env, {
    DATABASE_POOL_SIZE           = "3"
    DATABASE_MAX_OVERFLOW        = "2"
    MAX_CONCURRENT_SESSIONS      = tostring(var.realtime_max_instances * 15)
    REALTIME_MAX_SESSION_SECONDS = "3600"
  })
  depends_on = [module.secrets]
}

# Cloud Run services must answer on PORT: the worker is the api role with the job
# worker in process, reachable by nothing (internal ingress, no invoker binding).
module "worker" {
  source                = "../cloud_run_service"
  project_id            = var.project_id
  region                = var.region
  name                  = "ballsy-worker"
  role                  = "worker"
  image                 = local.image
  args                  = ["serve", "--role", "api"]
  service_account_email = module.identities.emails["worker"]
  cpu                   = "2"
  memory                = "4Gi"
  concurrency           = 10
  timeout_seconds       = 300
  min_instances         = 1
  max_instances         = var.worker_max_instances
  cpu_always_allocated  = true
  ingress               = "INGRESS_TRAFFIC_INTERNAL_ONLY"
  public                = false
  sql_connection_name   = module.database.connection_name
  network               = module.network.network_name
  subnetwork            = module.network.subnet_name
  deletion_protection   = var.deletion_protection
  labels                = local.labels
  secret_env            = local.secret_env
  env = merge(local.common_env, local.jobs_env, {
    JOB_WORKER_IN_PROCESS = "true"
    JOB_CONCURRENCY       = "2"
    DATABASE_POOL_SIZE    = "2"
    DATABASE_MAX_OVERFLOW = "2"
  })
  depends_on = [module.secrets]
}

resource "google_cloud_run_v2_job" "migrate" {
  project             = var.project_id
  name                = "ballsy-migrate"
  location            = var.region
  deletion_protection = var.deletion_protection
  labels              = local.labels

  template {
    task_count = 1
    template {
      service_account = module.identities.emails["migrate"]
      timeout         = "600s"
      max_retries     = 1

      vpc_access {
        egress = "PRIVATE_RANGES_ONLY"
        network_interfaces {
          network    = module.network.network_name
          subnetwork = module.network.subnet_name
        }
      }

      volumes {
        name = "cloudsql"
        cloud_sql_instance {
          instances = [module.database.connection_name]
        }
      }

      containers {
        image = local.image
        args  = ["migrate"]
        env {
          name  = "ENVIRONMENT"
          value = "production"
        }
        env {
          name  = "AUTH_MODE"
          value = "apikey"
        }
        env {
          name = "DATABASE_URL"
          value_source {
            secret_key_ref {
              secret  = "ballsy-database-url"
              version = "latest"
            }
          }
        }
        volume_mounts {
          name       = "cloudsql"
          mount_path = "/cloudsql"
        }
        resources {
          limits = {
            cpu    = "1"
            memory = "1Gi"
          }
        }
      }
    }
  }

  lifecycle {
    ignore_changes = [template[0].template[0].containers[0].image, client, client_version]
  }
  depends_on = [module.secrets]
}

module "load_balancer" {
  source     = "../load_balancer"
  project_id = var.project_id
  region     = var.region
  domains    = [var.domain]
  services = {
    api      = module.api.name
    realtime = module.realtime.name
  }
  rate_limit_count        = 100
  rate_limit_interval_sec = 60
}

module "monitoring" {
  source                 = "../monitoring"
  project_id             = var.project_id
  environment            = var.environment
  domain                 = var.domain
  alert_email            = var.alert_email
  realtime_max_instances = var.realtime_max_instances
  billing_account        = var.billing_account
  monthly_budget_usd     = var.monthly_budget_usd
  depends_on             = [google_project_service.api]
}
