variable "project_id" {
  description = "Google Cloud project of this environment (one project per environment)."
  type        = string
}

variable "region" {
  description = "Region of every regional resource."
  type        = string
  default     = "europe-west1"
}

variable "environment" {
  description = "dev, staging or production."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "production"], var.environment)
    error_message = "environment must be dev, staging or production."
  }
}

variable "domain" {
  description = "Public host name (managed certificate, URL map, uptime check)."
  type        = string
}

variable "image" {
  description = "Image of the services' first revision; empty means <registry>/ballsy:<release>."
  type        = string
  default     = ""
}

variable "release" {
  description = "Image tag used when image is empty."
  type        = string
  default     = "latest"
}

variable "api_min_instances" {
  description = "Warm api instances (0: scale to zero)."
  type        = number
  default     = 0
}

variable "api_max_instances" {
  description = "Most api instances."
  type        = number
  default     = 20
}

variable "realtime_min_instances" {
  description = "Warm realtime instances (1: no cold start for the first caller)."
  type        = number
  default     = 1
}

variable "realtime_max_instances" {
  description = "Most realtime instances; x15 sessions is MAX_CONCURRENT_SESSIONS."
  type        = number
  default     = 100
}

variable "worker_max_instances" {
  description = "Most job worker instances."
  type        = number
  default     = 10
}

variable "sql_tier" {
  description = "Cloud SQL machine tier."
  type        = string
}

variable "sql_high_availability" {
  description = "A standby in another zone."
  type        = bool
}

variable "sql_disk_size_gb" {
  description = "Initial Cloud SQL disk size."
  type        = number
  default     = 20
}

variable "sql_max_connections" {
  description = "PostgreSQL max_connections (above the pools x max instances)."
  type        = number
  default     = 1000
}

variable "sql_retained_backups" {
  description = "Daily backups kept."
  type        = number
  default     = 14
}

variable "redis_tier" {
  description = "Memorystore tier: BASIC or STANDARD_HA."
  type        = string
}

variable "redis_memory_gb" {
  description = "Memorystore capacity."
  type        = number
  default     = 1
}

variable "deletion_protection" {
  description = "Protect the database, services and bucket from deletion."
  type        = bool
  default     = true
}

variable "alert_email" {
  description = "Where alerts and budget notices go."
  type        = string
}

variable "billing_account" {
  description = "Billing account id for the budget alert; empty: no budget."
  type        = string
  default     = ""
}

variable "monthly_budget_usd" {
  description = "Monthly budget in USD (see `ballsy plan`)."
  type        = number
}

variable "labels" {
  description = "Extra labels on every resource."
  type        = map(string)
  default     = {}
}
