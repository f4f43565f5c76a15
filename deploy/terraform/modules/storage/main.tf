# The job bucket (JOB_STORAGE=gcs): uploaded recordings and transcripts. Private,
# uniform access, deleted after the retention the app applies itself (JOB_RETENTION_HOURS)
# plus a safety margin.

resource "google_storage_bucket" "jobs" {
  # checkov:skip=CKV_GCP_62:Access logs of job files go to Cloud Audit Logs (data access) rather than a second bucket
  # checkov:skip=CKV_GCP_78:Objects are written once and deleted by retention; versions would keep deleted recordings alive
  project                     = var.project_id
  name                        = var.name
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy
  labels                      = var.labels

  lifecycle_rule {
    condition {
      age = var.delete_after_days
    }
    action {
      type = "Delete"
    }
  }

  # Direct uploads (POST /api/transcriptions/uploads) a client put here but never
  # submitted as a job: Ballsy does not track them, so the bucket drops them.
  lifecycle_rule {
    condition {
      age            = 1
      matches_prefix = ["media/direct/"]
    }
    action {
      type = "Delete"
    }
  }
}

resource "google_storage_bucket_iam_member" "object_admin" {
  for_each = var.object_admins
  bucket   = google_storage_bucket.jobs.name
  role     = "roles/storage.objectAdmin"
  member   = each.value
}
