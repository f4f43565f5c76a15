# One service account per process role, with only the project roles a Ballsy process
# uses: Cloud SQL connections, logs, metrics and traces. Secrets are granted per secret
# (modules/secrets) and the job bucket per bucket (modules/storage).

locals {
  project_roles = [
    "roles/cloudsql.client",
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/cloudtrace.agent",
  ]
  grants = {
    for pair in setproduct(var.roles, local.project_roles) : "${pair[0]}/${pair[1]}" => {
      role_name = pair[0]
      iam_role  = pair[1]
    }
  }
}

resource "google_service_account" "role" {
  for_each     = toset(var.roles)
  project      = var.project_id
  account_id   = "ballsy-${each.key}"
  display_name = "Ballsy ${each.key}"
}

resource "google_project_iam_member" "runtime" {
  for_each = local.grants
  project  = var.project_id
  role     = each.value.iam_role
  member   = "serviceAccount:${google_service_account.role[each.value.role_name].email}"
}
