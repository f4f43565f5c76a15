# One Ballsy environment on Google Cloud: everything deploy/cloudrun/deploy.sh releases
# onto. Names match the release manifests (deploy/cloudrun/*.yaml): services
# ballsy-<role>, service accounts ballsy-<role>, secrets ballsy-*, Cloud SQL ballsy-pg,
# network ballsy / ballsy-run, bucket <project>-ballsy-jobs, repository ballsy.

locals {
  labels = merge(var.labels, { app = "ballsy", environment = var.environment })
  apis = [
    "artifactregistry.googleapis.com",
    "billingbudgets.googleapis.com",
    "cloudbuild.googleapis.com",
    "compute.googleapis.com",
    "iam.googleapis.com",
    "monitoring.googleapis.com",
    "redis.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "servicenetworking.googleapis.com",
    "sqladmin.googleapis.com",
  ]
  # Settings every role shares (names are Ballsy settings: docs/configuration.md).
  common_env = {
    ENVIRONMENT          = "production"
    AUTH_MODE            = "jwt"
    GOOGLE_CLOUD_PROJECT = var.project_id
    REDIS_KEY_PREFIX     = "ballsy:"
    # Cloud Run kills 10 s after SIGTERM: hooks (3 s) + leave (2 s) + drain must fit.
    SHUTDOWN_GRACE_SECONDS = "4"
    # uvicorn's own setting: client addresses from the load balancer's X-Forwarded-For.
    FORWARDED_ALLOW_IPS = "*"
  }
  jobs_env = {
    JOB_QUEUE          = "redis"
    JOB_STORAGE        = "gcs"
    JOB_STORAGE_BUCKET = module.storage.bucket
  }
  secret_env = {
    DATABASE_URL = "ballsy-database-url"
    REDIS_URL    = "ballsy-redis-url"
    JWT_SECRET   = "ballsy-jwt-secret"
  }
  image = var.image == "" ? "${module.registry.image_repository}/ballsy:${var.release}" : var.image
}

resource "google_project_service" "api" {
  for_each           = toset(local.apis)
  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

module "network" {
  source     = "../network"
  project_id = var.project_id
  region     = var.region
  depends_on = [google_project_service.api]
}

module "registry" {
  source     = "../registry"
  project_id = var.project_id
  region     = var.region
  labels     = local.labels
  depends_on = [google_project_service.api]
}

module "identities" {
  source     = "../identities"
  project_id = var.project_id
  depends_on = [google_project_service.api]
}

module "database" {
  source                      = "../database"
  project_id                  = var.project_id
  region                      = var.region
  tier                        = var.sql_tier
  high_availability           = var.sql_high_availability
  disk_size_gb                = var.sql_disk_size_gb
  max_connections             = var.sql_max_connections
  retained_backups            = var.sql_retained_backups
  deletion_protection         = var.deletion_protection
  network_id                  = module.network.network_id
  private_services_connection = module.network.private_services_connection
  labels                      = local.labels
}

module "redis" {
  source                      = "../redis"
  project_id                  = var.project_id
  region                      = var.region
  tier                        = var.redis_tier
  memory_size_gb              = var.redis_memory_gb
  network_id                  = module.network.network_id
  private_services_connection = module.network.private_services_connection
  labels                      = local.labels
}

resource "random_password" "jwt_secret" {
  length  = 64
  special = false
}

module "secrets" {
  source     = "../secrets"
  project_id = var.project_id
  labels     = local.labels
  # Least privilege: each secret is readable by the roles that use it, nothing more.
  accessors = {
    "ballsy-database-url" = ["api", "realtime", "worker", "migrate"]
    "ballsy-redis-url"    = ["api", "realtime", "worker"]
    "ballsy-jwt-secret"   = ["api", "realtime", "worker"]
  }
  members = module.identities.members
  values = {
    "ballsy-database-url" = module.database.database_url
    "ballsy-redis-url"    = module.redis.redis_url
    "ballsy-jwt-secret"   = random_password.jwt_secret.result
  }
}

module "storage" {
  source        = "../storage"
  project_id    = var.project_id
  region        = var.region
  name          = "${var.project_id}-ballsy-jobs"
  force_destroy = !var.deletion_protection
  labels        = local.labels
  object_admins = {
    api    = module.identities.members["api"]
    worker = module.identities.members["worker"]
  }
}

# Signed download URLs of job results: the api and worker accounts sign with their own
# key through IAM signBlob (no key file exists).
resource "google_service_account_iam_member" "sign_urls" {
  for_each           = toset(["api", "worker"])
  service_account_id = "projects/${var.project_id}/serviceAccounts/${module.identities.emails[each.key]}"
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = module.identities.members[each.key]
}
