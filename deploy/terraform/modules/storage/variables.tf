variable "project_id" {
  description = "Google Cloud project."
  type        = string
}

variable "region" {
  description = "Bucket location (the services' region: no cross-region traffic)."
  type        = string
}

variable "name" {
  description = "Bucket name (globally unique)."
  type        = string
}

variable "delete_after_days" {
  description = "Objects older than this are deleted (above JOB_RETENTION_HOURS)."
  type        = number
  default     = 8
}

variable "object_admins" {
  description = "Role => member that reads and writes job files (api and worker accounts)."
  type        = map(string)
}

variable "force_destroy" {
  description = "Let terraform destroy a bucket that still holds objects (dev only)."
  type        = bool
  default     = false
}

variable "labels" {
  description = "Labels on every resource."
  type        = map(string)
  default     = {}
}
