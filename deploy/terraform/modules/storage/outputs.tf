output "bucket" {
  description = "JOB_STORAGE_BUCKET."
  value       = google_storage_bucket.jobs.name
}
