output "emails" {
  description = "Role => service account email."
  value       = { for role, account in google_service_account.role : role => account.email }
}

output "members" {
  description = "Role => IAM member (serviceAccount:<email>)."
  value       = { for role, account in google_service_account.role : role => account.member }
}
