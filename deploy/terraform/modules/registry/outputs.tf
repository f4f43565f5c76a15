output "image_repository" {
  description = "Where images are pushed: <region>-docker.pkg.dev/<project>/<name>."
  value       = "${google_artifact_registry_repository.this.location}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.this.repository_id}"
}
