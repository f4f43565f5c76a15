variable "project_id" {
  description = "Google Cloud project."
  type        = string
}

variable "region" {
  description = "Region of the instance (the Cloud Run services' region)."
  type        = string
}

variable "name" {
  description = "Instance name."
  type        = string
  default     = "ballsy-pg"
}

variable "tier" {
  description = "Machine tier, e.g. db-custom-2-7680."
  type        = string
}

variable "high_availability" {
  description = "REGIONAL (a standby in another zone) instead of ZONAL."
  type        = bool
}

variable "disk_size_gb" {
  description = "Initial SSD size; it grows automatically."
  type        = number
  default     = 20
}

variable "max_connections" {
  description = "PostgreSQL max_connections."
  type        = number
  default     = 400
}

variable "retained_backups" {
  description = "Daily backups kept."
  type        = number
  default     = 14
}

variable "log_retention_days" {
  description = "Days of write-ahead log kept for point-in-time recovery (1-7)."
  type        = number
  default     = 7
}

variable "deletion_protection" {
  description = "Refuse to delete the instance (Terraform and API)."
  type        = bool
  default     = true
}

variable "network_id" {
  description = "VPC the private IP lives in."
  type        = string
}

variable "private_services_connection" {
  description = "The private service access peering, created before the instance."
  type        = string
}

variable "labels" {
  description = "Labels on every resource."
  type        = map(string)
  default     = {}
}
