output "notification_channel" {
  description = "The e-mail channel alerts use."
  value       = google_monitoring_notification_channel.email.id
}
