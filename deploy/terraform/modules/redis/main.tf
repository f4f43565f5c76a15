# Memorystore for Redis: sessions, rate limits, WebSocket tickets and the job queue
# shared by every instance. Reached over private service access, AUTH required.

resource "google_redis_instance" "this" {
  # checkov:skip=CKV_GCP_97:In-transit TLS needs Memorystore's private CA, which Ballsy's REDIS_URL (redis-py) cannot be given yet; traffic stays inside the VPC and AUTH is on
  project                 = var.project_id
  name                    = var.name
  region                  = var.region
  tier                    = var.tier
  memory_size_gb          = var.memory_size_gb
  redis_version           = "REDIS_7_2"
  authorized_network      = var.network_id
  connect_mode            = "PRIVATE_SERVICE_ACCESS"
  auth_enabled            = true
  transit_encryption_mode = "DISABLED"
  labels                  = var.labels

  redis_configs = {
    # Rate-limit and ticket keys all carry TTLs: evict those first under pressure.
    maxmemory-policy = "volatile-lru"
  }

  maintenance_policy {
    weekly_maintenance_window {
      day = "SUNDAY"
      start_time {
        hours   = 3
        minutes = 0
      }
    }
  }

  depends_on = [var.private_services_connection]
}
