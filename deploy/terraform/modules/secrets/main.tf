# Secret Manager: one secret per credential, and each readable only by the service
# accounts that need it (secretAccessor on the secret, never on the project).

locals {
  # Keyed by secret and role name (known at plan time), not by the e-mail address.
  bindings = merge([
    for name, roles in var.accessors : {
      for role in roles : "${name}/${role}" => { secret = name, member = var.members[role] }
    }
  ]...)
}

# Google-managed encryption keys (no CMEK), as for every resource here: docs/deploy.md.
resource "google_secret_manager_secret" "this" {
  for_each  = var.accessors
  project   = var.project_id
  secret_id = each.key
  labels    = var.labels

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "this" {
  for_each    = var.accessors
  secret      = google_secret_manager_secret.this[each.key].id
  secret_data = var.values[each.key]
}

resource "google_secret_manager_secret_iam_member" "accessor" {
  for_each  = local.bindings
  project   = var.project_id
  secret_id = google_secret_manager_secret.this[each.value.secret].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = each.value.member
}
