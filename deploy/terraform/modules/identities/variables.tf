variable "project_id" {
  description = "Google Cloud project."
  type        = string
}

variable "roles" {
  description = "Process roles that get a service account ballsy-<role>."
  type        = list(string)
  default     = ["api", "realtime", "worker", "migrate"]
}
