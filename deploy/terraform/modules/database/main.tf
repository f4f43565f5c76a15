# Cloud SQL for PostgreSQL 15: private IP only, TLS required, daily backups with
# point-in-time recovery, and the logging flags a security review asks for.

resource "random_password" "ballsy" {
  length  = 32
  special = false
}

resource "google_sql_database_instance" "this" {
  # checkov:skip=CKV_GCP_6:ssl_mode = ENCRYPTED_ONLY requires TLS (provider 6 removed the require_ssl flag this check reads); Cloud Run connects through the Cloud SQL connector
  # checkov:skip=CKV_GCP_79:PostgreSQL 15 is the version Ballsy is tested against (the suite runs on 15); upgrade together with the test matrix
  # checkov:skip=CKV2_GCP_13:log_duration logs every statement (tens of millions a month at 1000 sessions, billed by Cloud Logging); Query Insights records statement timings instead
  project             = var.project_id
  name                = var.name
  region              = var.region
  database_version    = "POSTGRES_15"
  deletion_protection = var.deletion_protection

  settings {
    tier                        = var.tier
    edition                     = "ENTERPRISE"
    availability_type           = var.high_availability ? "REGIONAL" : "ZONAL"
    disk_type                   = "PD_SSD"
    disk_size                   = var.disk_size_gb
    disk_autoresize             = true
    deletion_protection_enabled = var.deletion_protection
    user_labels                 = var.labels

    backup_configuration {
      enabled                        = true
      start_time                     = "02:00"
      point_in_time_recovery_enabled = true
      transaction_log_retention_days = var.log_retention_days

      backup_retention_settings {
        retained_backups = var.retained_backups
        retention_unit   = "COUNT"
      }
    }

    ip_configuration {
      ipv4_enabled                                  = false
      private_network                               = var.network_id
      ssl_mode                                      = "ENCRYPTED_ONLY"
      enable_private_path_for_google_cloud_services = true
    }

    maintenance_window {
      day          = 7
      hour         = 3
      update_track = "stable"
    }

    insights_config {
      query_insights_enabled  = true
      record_application_tags = false
      record_client_address   = false
    }

    # Sized with the instances' pools: sum of (DATABASE_POOL_SIZE + MAX_OVERFLOW) x
    # max instances per role stays below it (docs/deploy.md).
    database_flags {
      name  = "max_connections"
      value = tostring(var.max_connections)
    }
    database_flags {
      name  = "log_hostname"
      value = "on"
    }
    database_flags {
      name  = "log_checkpoints"
      value = "on"
    }
    database_flags {
      name  = "log_connections"
      value = "on"
    }
    database_flags {
      name  = "log_disconnections"
      value = "on"
    }
    database_flags {
      name  = "log_lock_waits"
      value = "on"
    }
    database_flags {
      name  = "log_min_messages"
      value = "error"
    }
    database_flags {
      name  = "log_min_error_statement"
      value = "error"
    }
    database_flags {
      name  = "log_temp_files"
      value = "0"
    }
    database_flags {
      name  = "log_min_duration_statement"
      value = "-1"
    }
    database_flags {
      name  = "log_statement"
      value = "ddl"
    }
    database_flags {
      name  = "cloudsql.enable_pgaudit"
      value = "on"
    }
  }

  depends_on = [var.private_services_connection]
}

resource "google_sql_database" "ballsy" {
  project  = var.project_id
  name     = "ballsy"
  instance = google_sql_database_instance.this.name
}

resource "google_sql_user" "ballsy" {
  project  = var.project_id
  name     = "ballsy"
  instance = google_sql_database_instance.this.name
  password = random_password.ballsy.result
}
