# Artifact Registry for the Ballsy image: immutable tags (a release tag always means
# the same image) and a cleanup policy that keeps the recent releases.

resource "google_artifact_registry_repository" "this" {
  # checkov:skip=CKV_GCP_84:Google-managed encryption keys; CMEK adds a KMS key ring to run for a repository of public-source images
  project       = var.project_id
  location      = var.region
  repository_id = var.name
  description   = "Ballsy container images"
  format        = "DOCKER"
  labels        = var.labels

  docker_config {
    immutable_tags = true
  }

  cleanup_policy_dry_run = false

  cleanup_policies {
    id     = "keep-recent-releases"
    action = "KEEP"
    most_recent_versions {
      keep_count = var.keep_versions
    }
  }

  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      older_than = "2592000s"
    }
  }
}
